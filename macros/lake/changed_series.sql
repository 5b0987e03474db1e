{% macro changed_series(klines) %}
  {#-
    The body of a select of the series an incremental model must rewrite, with the first
    candle to rewrite from (`first_changed`): per (symbol, interval) of `klines`, the first
    candle newer than the last bar built in `this`, or landed again since its last build
    (`ingested_at` newer than the newest built), or the first bar built in `this` whose
    candle `klines` no longer has (a re-landed file that carries fewer candles): windows
    over the bars after a removed candle change, so the series is rewritten from there.
    A series not built yet starts at its first candle. `klines` is the name of a CTE or
    relation with `symbol`, `interval`, `open_time` and `ingested_at`; `this` must keep
    `open_time` and `ingested_at`. The built rows of removed candles are deleted by the
    model's post-hook `delete_removed_candles`. Mirrored in Python by
    `hermes.incremental.changed_series`.
  -#}
    select
        symbol,
        interval,
        min(first_changed) as first_changed
    from (
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
        union all
        select
            removed.symbol,
            removed.interval,
            min(removed.open_time) as first_changed
        from {{ this }} as removed
        anti join {{ klines }} using (symbol, interval, open_time)
        group by all
    ) as changes
    group by all
{%- endmacro %}
