{% macro decoded_files_glob() %}
  {#-
    Glob of the decoded parquet files that `hermes ingest` writes, one per source file
    version, under `<landing_root>/_decoded/`. The landing root comes from the
    `landing_root` var (a local folder or an s3:// URL).
  -#}
  {%- set root = var('landing_root') | string -%}
  {%- if "'" in root -%}
    {{ exceptions.raise_compiler_error("landing_root must not contain a quote: " ~ root) }}
  {%- endif -%}
  '{{ root.rstrip("/") }}/_decoded/*.parquet'
{%- endmacro %}
