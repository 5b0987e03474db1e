{% macro signal_incremental() %}
    {#-
    Whether a signal model builds incrementally this run: the changed series' new bars
    only (`signal_changes`, `signal_lookback`, `signal_new_bars`), instead of every bar.
    True when the table exists (dbt's `is_incremental()`), keeps the candles' `ingested_at`
    (the cursor of `changed_series`; a table built before it is rebuilt once) and was built
    with the parameters the registry gives now (other parameters, from the seed or the
    `strategy_parameters` var: every bar is decided again). A change of the model's SQL is
    caught by the post-hook `signal_contract()`, which then rebuilds every bar. False in a
    dbt unit test (its model has no table).
    -#}
    {%- if model.resource_type == 'unit_test' or not is_incremental() -%}
        {{ return(false) }}
    {%- endif -%}
    {%- if not execute or var('lint_incremental_branches', false) | string | lower == 'true' -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name')
        | map('lower') | list -%}
    {%- if 'ingested_at' not in columns -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set built = run_query("select distinct parameters from " ~ this ~ " limit 2") -%}
    {%- set current = run_query(strategy_parameters({})) -%}
    {{ return(
        built | length == 1 and current | length == 1
        and built.rows[0][0] == current.rows[0][2]
    ) }}
{% endmacro %}
