{#-
  Experimental: RSI 14 pulled towards 50 when volatility is high relative to its recent
  average, so that readings in calm and stormy regimes compare:
  50 + (rsi_14 - 50) * avg(volatility_20 over the last 100 bars) / volatility_20.
-#}
{%- set regime_bars = 100 -%}

with

features as (

    select * from {{ ref('gold_features') }}

),

regimes as (

    select
        symbol,
        interval,
        open_time,
        warmup_bars,
        rsi_14,
        volatility_20,
        {{ sma('volatility_20', regime_bars) }} as volatility_20_regime
    from features

),

final as (

    select
        symbol,
        interval,
        open_time,
        {{ after_warmup(
            '50 + (rsi_14 - 50) * volatility_20_regime / nullif(volatility_20, 0)',
            20 + regime_bars - 1,
        ) }} as rsi_vol_adjusted_14_20
    from regimes

)

select * from final
