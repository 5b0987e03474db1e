{% macro create_signal_models_table() %}
    {#-
    `on-run-start` hook: the table where `signal_contract()` records each signal model's
    compiled SQL (created once, before models build in parallel).
    -#}
    create table if not exists {{ target.database }}.main.hermes_signal_models (
        strategy_id varchar not null,
        model varchar not null,
        compiled_sql varchar not null,
        sql_hash varchar not null,
        built_at timestamp not null
    )
{% endmacro %}
