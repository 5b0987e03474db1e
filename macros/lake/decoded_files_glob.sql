{% macro decoded_files_glob() %}
  {#-
    Glob of the decoded parquet files that `hermes ingest` writes, one per source file
    version, under `<landing_root>/_decoded/` (see `landing_path`).
  -#}
  {{- landing_path('_decoded/*.parquet') -}}
{%- endmacro %}
