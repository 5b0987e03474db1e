{% macro new_decoded_files(built, most=2000) %}
  {#-
    The decoded parquet files of the source files landed (or replaced) since `built`
    (bronze_klines) was last built, as SQL string literals of their full paths, for
    `read_parquet([...])`: a new day reads its own files, not every file ever landed (the
    `_decoded/` glob; the files are named by hash, so the join on the file name prunes
    none of them). Empty when there is none or more than `most` (the caller then reads the
    glob), and outside an execution (parse, the lint pass of the incremental branches).
    A name is checked before it is written into SQL: `_decoded/<sha256>.parquet` under the
    landing root, or an older lake's full path without a quote.
  -#}
  {%- if not execute or var('lint_incremental_branches', false) | string | lower == 'true' -%}
    {{ return([]) }}
  {%- endif -%}
  {%- set query -%}
    select distinct decoded_file
    from {{ source('landing', 'files') }}
    where {{ landed_since_build(built) }}
    order by decoded_file
  {%- endset -%}
  {%- set names = run_query(query).columns[0].values() -%}
  {%- if names | length > most | int -%}
    {{ return([]) }}
  {%- endif -%}
  {%- set relative = modules.re.compile('^_decoded/[0-9a-f]{64}[.]parquet$') -%}
  {%- set paths = [] -%}
  {%- for name in names -%}
    {%- if relative.match(name) -%}
      {%- do paths.append(landing_path(name) | trim) -%}
    {%- elif "'" not in name and name.endswith('.parquet') -%}
      {%- do paths.append("'" ~ name ~ "'") -%}
    {%- else -%}
      {{ exceptions.raise_compiler_error("unexpected decoded file in the landing manifest: " ~ name) }}
    {%- endif -%}
  {%- endfor -%}
  {{ return(paths) }}
{%- endmacro %}
