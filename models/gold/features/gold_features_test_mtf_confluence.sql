{#-
  Experimental multi-timeframe confluence: each lower-interval bar (e.g. 4h) gets the
  features of the last higher-interval candle (e.g. 1d) that had closed when the bar
  closed (higher close_time <= bar close_time), never the candle still in progress. Pairs
  come from the var `feature_higher_timeframes` (lower -> higher).
  mtf_confluence = mean of sign(ema_12 - ema_26) and supertrend_dir_10_3 on both intervals,
  in [-1, 1]; NULL until both intervals are out of their warm-up.
-#}
{%- set pairs = var('feature_higher_timeframes') -%}

with

features as (

    select * from {{ ref('gold_features') }}

),

lower_bars as (

    select
        symbol,
        interval,
        open_time,
        close_time,
        case interval
            {%- for lower, higher in pairs.items() %}
                when '{{ lower }}' then '{{ higher }}'
            {%- endfor %}
        end as htf_interval,
        sign(ema_12 - ema_26) as ema_trend_12_26,
        supertrend_dir_10_3
    from features
    where interval in ({{ "'" ~ (pairs.keys() | join("', '")) ~ "'" }})

),

higher_bars as (

    select
        symbol,
        interval as htf_interval,
        open_time as htf_open_time,
        close_time as htf_close_time,
        rsi_14 as htf_rsi_14,
        sign(ema_12 - ema_26) as htf_ema_trend_12_26,
        supertrend_dir_10_3 as htf_supertrend_dir_10_3
    from features
    where interval in ({{ "'" ~ (pairs.values() | join("', '")) ~ "'" }})

),

aligned as (

    select
        lower_bars.*,
        higher_bars.htf_open_time,
        higher_bars.htf_rsi_14,
        higher_bars.htf_ema_trend_12_26,
        higher_bars.htf_supertrend_dir_10_3
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
        ) / 4.0 as mtf_confluence
    from aligned

)

select * from final
