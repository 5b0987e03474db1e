{#-
  Bollinger Reversion: long when the close comes back above the lower Bollinger band
  (below it on the previous bar, at or above it on this one) while RSI is below `rsi_max`;
  exit when the close reaches the middle band. Band width and the RSI ceiling are read at
  run time, the band length is a constant grids set at run time (`strategy_constant`); the
  RSI period picks a feature-store column, so it is compiled in.
-#}
{%- set compiled = strategy_compiled_parameters() -%}
{%- set rsi_period = compiled.get('rsi_period', 0) | int -%}
{%- set bb_period = strategy_constant(compiled, 'bb_period') -%}

{%- set incremental = signal_incremental() %}
-- depends_on: {{ ref('silver_klines') }}

with

{{ signal_changes(incremental, bb_period) }}

features as (

    select
        symbol,
        interval,
        open_time,
        close,
        warmup_bars,
        rsi_{{ rsi_period }} as rsi,
        ingested_at
    from {{ ref('gold_feature_store') }}
    {{ signal_lookback(incremental, 'gold_feature_store') }}

),

strategy as (

    {{ strategy_parameters(
        {'bb_stddevs': 'double', 'rsi_max': 'double'},
        compiled={'rsi_period': rsi_period},
    ) }}

),

bands as (

    select
        features.symbol,
        features.interval,
        features.open_time,
        features.close,
        features.rsi,
        features.ingested_at,
        strategy.strategy_id,
        strategy.strategy_version,
        strategy.parameters,
        strategy.rsi_max,
        {{ after_warmup(
            bollinger_band('close', bb_period, 'strategy.bb_stddevs', 'lower'), bb_period ~ ' - 1'
        ) }} as lower_band,
        {{ after_warmup(
            bollinger_band('close', bb_period, 'strategy.bb_stddevs', 'middle'), bb_period ~ ' - 1'
        ) }} as middle_band
    from features
    cross join strategy

),

with_previous as (

    select
        *,
        lag(close) over bars as previous_close,
        lag(lower_band) over bars as previous_lower_band
    from bands
    window bars as (partition by symbol, interval order by open_time)

),

flagged as (

    select
        *,
        coalesce(
            previous_close < previous_lower_band and close >= lower_band, false
        ) as back_inside,
        coalesce(rsi < rsi_max, false) as rsi_oversold,
        coalesce(close >= middle_band, false) as at_middle
    from with_previous

)

select
    strategy_id,
    strategy_version,
    parameters,
    symbol,
    interval,
    open_time,
    close,
    lower_band,
    middle_band,
    rsi,
    back_inside,
    rsi_oversold,
    at_middle,
    back_inside and rsi_oversold as buy_signal,
    at_middle as sell_signal,
    ingested_at
from flagged
{{ signal_new_bars(incremental, 'flagged') }}
