{% macro cursor_incremental() %}
    {#-
    Whether an incremental model that follows silver_klines through `changed_series` can
    build incrementally this run: its table exists (`is_incremental()`) and keeps the
    candles' `ingested_at`, the cursor. A table built before it kept that column is built
    in full once (delete+insert of every row, the column appended). True in the lint pass
    of the incremental branches (`lint_incremental_branches`), whose lake has no table.
    -#}
    {%- if not is_incremental() -%}
        {{ return(false) }}
    {%- endif -%}
    {%- if not execute or var('lint_incremental_branches', false) | string | lower == 'true' -%}
        {{ return(true) }}
    {%- endif -%}
    {{ return('ingested_at' in (
        adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list
    )) }}
{% endmacro %}
