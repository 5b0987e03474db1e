{#-
  Experimental multi-timeframe confluence: each lower-interval bar (e.g. 4h) gets the
  features of the last higher-interval candle (e.g. 1d) that had closed when the bar
  closed (higher close_time <= bar close_time), never the candle still in progress. Pairs
  come from the var `feature_higher_timeframes` (lower -> higher).
  mtf_confluence = mean of sign(ema_12 - ema_26) and supertrend_dir_10_3 on both intervals,
  in [-1, 1]; NULL until both intervals are out of their warm-up.
  Incremental: `changed_series` runs over the lower series' candles and over their higher
  series' candles, each of those dated one higher candle earlier (a bar from that time on
  may align onto it); bars aligned onto a higher candle that is gone are changed too. Each
  changed lower series is read and written from its first changed bar on (each bar
  aligns on its own; the higher series are read whole); the post-hook deletes the rows of
  removed lower candles. `ingested_at` is the later of the bar's and its higher candle's
  landing.
-#}
{%- set pairs = var('feature_higher_timeframes') -%}
{%- set has_cursor = cursor_incremental() -%}
{%- set removed_higher -%}
    -- bars aligned onto a higher candle that silver_klines no longer has
    select
        built.symbol,
        built.interval,
        min(built.open_time) as first_changed
    from {{ this }} as built
    inner join pairs using (interval)
    where
        built.htf_open_time is not null
        and not exists (
            select 1
            from silver
            where
                silver.symbol = built.symbol
                and silver.interval = pairs.htf_interval
                and silver.open_time = built.htf_open_time
        )
    group by all
{%- endset -%}
-- depends_on: {{ ref('silver_klines') }}

with

features as (

    select * from {{ ref('gold_features') }}

),

pairs as (

    -- one row per (lower, higher) pair of `feature_higher_timeframes`
    select
        unnest([{{ "'" ~ (pairs.keys() | join("', '")) ~ "'" }}]) as interval,
        unnest([{{ "'" ~ (pairs.values() | join("', '")) ~ "'" }}]) as htf_interval

),

{% if has_cursor %}

    silver as (

        select
            symbol,
            interval,
            open_time,
            ingested_at
        from {{ ref('silver_klines') }}

    ),

    klines as (

        -- the lower candles, and each higher candle on its lower series one candle early
        select silver.*
        from silver
        semi join pairs using (interval)
        union all
        select
            silver.symbol,
            pairs.interval,
            silver.open_time - {{ interval_length('silver.interval') }} as open_time,
            silver.ingested_at
        from silver
        inner join pairs on silver.interval = pairs.htf_interval

    ),

{% endif %}

{{ changed_series_rows(
    'series', 'features', has_cursor, klines='klines', more_changes=removed_higher,
    lookback=0
) }}

lower_bars as (

    select
        series.symbol,
        series.interval,
        series.open_time,
        series.close_time,
        pairs.htf_interval,
        sign(series.ema_12 - series.ema_26) as ema_trend_12_26,
        series.supertrend_dir_10_3,
        series.ingested_at,
        series.first_changed
    from series
    inner join pairs using (interval)

),

higher_bars as (

    select
        symbol,
        interval as htf_interval,
        open_time as htf_open_time,
        close_time as htf_close_time,
        rsi_14 as htf_rsi_14,
        sign(ema_12 - ema_26) as htf_ema_trend_12_26,
        supertrend_dir_10_3 as htf_supertrend_dir_10_3,
        ingested_at as htf_ingested_at
    from features
    where interval in (select pairs.htf_interval from pairs)

),

aligned as (

    select
        lower_bars.*,
        higher_bars.htf_open_time,
        higher_bars.htf_rsi_14,
        higher_bars.htf_ema_trend_12_26,
        higher_bars.htf_supertrend_dir_10_3,
        higher_bars.htf_ingested_at
    from lower_bars
    asof left join higher_bars
        on
            lower_bars.symbol = higher_bars.symbol
            and lower_bars.htf_interval = higher_bars.htf_interval
            and lower_bars.close_time >= higher_bars.htf_close_time

),

final as (

    select
        symbol,
        interval,
        open_time,
        htf_interval,
        htf_open_time,
        htf_rsi_14,
        htf_ema_trend_12_26,
        htf_supertrend_dir_10_3,
        (
            ema_trend_12_26 + supertrend_dir_10_3
            + htf_ema_trend_12_26 + htf_supertrend_dir_10_3
        ) / 4.0 as mtf_confluence,
        greatest(ingested_at, htf_ingested_at) as ingested_at
    from aligned
    {%- if has_cursor %}
        where open_time >= first_changed
    {%- endif %}

)

select * from final
