{#-
  Experimental: 20-bar momentum in units of its expected noise, a t-statistic-like score:
  ln(close / close 20 bars earlier) / (volatility_20 * sqrt(20)).
  Incremental as gold_features: each changed series (`changed_series`) is read from 20
  bars before its first new, re-landed or removed candle (the return's lag) and written
  from that candle on; the post-hook deletes the rows of removed candles.
-#}
{%- set bars = 20 -%}
{%- set has_cursor = cursor_incremental() -%}
-- depends_on: {{ ref('silver_klines') }}

with

features as (

    select * from {{ ref('gold_features') }}

),

{{ changed_series_rows('series', 'features', has_cursor, lookback=bars) }}

momentum as (

    select
        symbol,
        interval,
        open_time,
        warmup_bars,
        volatility_20,
        ingested_at,
        first_changed,
        {{ log_return('close', bars) }} as log_return_20
    from series

),

final as (

    select
        symbol,
        interval,
        open_time,
        {{ after_warmup(
            'log_return_20 / nullif(volatility_20 * sqrt(' ~ bars ~ '), 0)', bars
        ) }} as momentum_score_20,
        ingested_at
    from momentum
    {%- if has_cursor %}
        where open_time >= first_changed
    {%- endif %}

)

select * from final
