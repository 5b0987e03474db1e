{% macro signal_changes(incremental, lookback) %}
    {#-
    The first CTE of an incremental signal model (nothing on a full build): `changes`, one
    row per series to rewrite (`changed_series` over silver_klines against the model's
    table) with `first_changed`, the first bar to write, and `read_from`, the index
    (`warmup_bars` of gold_feature_store: the number of earlier bars) of the first bar to
    read: `lookback` bars before the first changed one, the bars the model's windows and
    lag()s look back over (a number or a SQL expression). The SQL it adds is set between the
    markers `signal_contract()` strips to record the model's full SQL.
    -#}
    {%- if incremental -%}
        /*hermes:incremental*/changes as (

    select
        changed.symbol,
        changed.interval,
        changed.first_changed,
        greatest(count(store.open_time) - ({{ lookback }}), 0) as read_from
    from (
        with klines as (
            select symbol, interval, open_time, ingested_at from {{ ref('silver_klines') }}
        )

        {{ changed_series('klines') }}
    ) as changed
    left join {{ ref('gold_feature_store') }} as store
        on
            changed.symbol = store.symbol
            and changed.interval = store.interval
            and store.open_time < changed.first_changed
    group by all

),/*hermes:end*/
    {%- endif -%}
{% endmacro %}
