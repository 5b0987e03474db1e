{% macro landing_path(relative) %}
  {#-
    A path under the landing root, as a SQL string: the `landing_root` var (a local folder
    or an s3:// URL) joined with `relative` (a constant of the project, e.g.
    `_decoded/*.parquet`). The landing manifest records decoded files relative to that
    root, so a lake folder can be moved or copied.
  -#}
  {%- set root = var('landing_root') | string -%}
  {%- if "'" in root -%}
    {{ exceptions.raise_compiler_error("landing_root must not contain a quote: " ~ root) }}
  {%- endif -%}
  '{{ root.rstrip("/") }}/{{ relative }}'
{%- endmacro %}
