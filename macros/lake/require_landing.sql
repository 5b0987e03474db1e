{% macro require_landing() %}
  {#-
    on-run-start check: `dbt build`, `dbt run` and `dbt test` stop with one clear message when
    nothing has been ingested yet (no `landing.files` manifest in the catalog), instead of a
    catalog error from the first model or test reading it. Selections of seeds only, and
    every other command (ls, compile, docs generate), are not checked.
  -#}
  {%- if execute and flags.WHICH in ['build', 'run', 'test'] -%}
    {%- set reads_landing = [] -%}
    {%- for unique_id in selected_resources -%}
      {%- if not unique_id.startswith('seed.') -%}
        {%- do reads_landing.append(unique_id) -%}
      {%- endif -%}
    {%- endfor -%}
    {%- set manifest = adapter.get_relation(database='lake', schema='landing', identifier='files') -%}
    {%- if reads_landing and manifest is none -%}
      {{ exceptions.raise_compiler_error(
          "nothing has been ingested into this lake yet (no landing.files manifest; landing "
          ~ "zone " ~ var('landing_root') ~ "): land data first, e.g. "
          ~ "`hermes ingest data/binance-ohlcv/*.csv.gz`, then run dbt again"
      ) }}
    {%- endif -%}
  {%- endif -%}
{% endmacro %}
