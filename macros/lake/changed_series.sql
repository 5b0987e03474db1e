{% macro changed_series(klines) %}
  {#-
    The body of a select of the series an incremental model must rewrite, with the first
    candle to rewrite from (`first_changed`): per (symbol, interval) of `klines`, the first
    candle newer than the last bar built in `this`, or landed again since its last build
    (`ingested_at` newer than the newest built). A series not built yet starts at its first
    candle. `klines` is the name of a CTE or relation with `symbol`, `interval`,
    `open_time` and `ingested_at`; `this` must keep `open_time` and `ingested_at`.
  -#}
    select
        {{ klines }}.symbol,
        {{ klines }}.interval,
        min({{ klines }}.open_time) as first_changed
    from {{ klines }}
    left join (
        select
            symbol,
            interval,
            max(open_time) as last_open_time,
            max(ingested_at) as last_ingested_at
        from {{ this }}
        group by all
    ) as built using (symbol, interval)
    where
        built.symbol is null
        or {{ klines }}.open_time > built.last_open_time
        or {{ klines }}.ingested_at > built.last_ingested_at
    group by all
{%- endmacro %}
