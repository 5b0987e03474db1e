{#-
  Experimental: RSI 14 pulled towards 50 when volatility is high relative to its recent
  average, so that readings in calm and stormy regimes compare:
  50 + (rsi_14 - 50) * avg(volatility_20 over the last 100 bars) / volatility_20.
  Incremental as gold_features: each changed series (`changed_series`) is read from
  `regime_bars` bars before its first new, re-landed or removed candle (the average's
  window, computed from its own rows as in a full build) and written from that candle on;
  the post-hook deletes the rows of removed candles.
-#}
{%- set regime_bars = 100 -%}
{%- set has_cursor = cursor_incremental() -%}
-- depends_on: {{ ref('silver_klines') }}

with

features as (

    select * from {{ ref('gold_features') }}

),

{{ changed_series_rows('series', 'features', has_cursor, lookback=regime_bars) }}

regimes as (

    select
        symbol,
        interval,
        open_time,
        warmup_bars,
        rsi_14,
        volatility_20,
        ingested_at,
        first_changed,
        {{ sma('volatility_20', regime_bars) }} as volatility_20_regime
    from series

),

final as (

    select
        symbol,
        interval,
        open_time,
        {{ after_warmup(
            '50 + (rsi_14 - 50) * volatility_20_regime / nullif(volatility_20, 0)',
            20 + regime_bars - 1,
        ) }} as rsi_vol_adjusted_14_20,
        ingested_at
    from regimes
    {%- if has_cursor %}
        where open_time >= first_changed
    {%- endif %}

)

select * from final
