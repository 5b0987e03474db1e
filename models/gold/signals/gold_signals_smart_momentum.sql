{#-
  Smart Momentum signals per (symbol, interval, open_time), decided on the closed bar.
  Indicator periods pick feature-store columns, so they are compiled into the SQL; the RSI
  band is read at run time (grids over it evaluate this SQL directly).
-#}
{%- set compiled = strategy_compiled_parameters() -%}
{%- set ema_fast = compiled.get('ema_fast', 0) | int -%}
{%- set ema_slow = compiled.get('ema_slow', 0) | int -%}
{%- set rsi_period = compiled.get('rsi_period', 0) | int -%}
{%- set st_period = compiled.get('st_period', 0) | int -%}
{%- set st_multiplier = compiled.get('st_multiplier', 0) | float -%}
{%- set st_suffix = feature_suffix([st_period, st_multiplier]) -%}

{%- set incremental = signal_incremental() %}
-- depends_on: {{ ref('silver_klines') }}

with

{{ signal_changes(incremental, 1) }}

features as (

    select
        symbol,
        interval,
        open_time,
        close,
        ema_{{ ema_fast }} as ema_fast,
        ema_{{ ema_slow }} as ema_slow,
        rsi_{{ rsi_period }} as rsi,
        supertrend_dir_{{ st_suffix }} as st_dir,
        ingested_at
    from {{ ref('gold_feature_store') }}
    {{ signal_lookback(incremental, 'gold_feature_store') }}

),

strategy as (

    {{ strategy_parameters(
        {'rsi_low': 'double', 'rsi_high': 'double'},
        compiled={
            'ema_fast': ema_fast,
            'ema_slow': ema_slow,
            'rsi_period': rsi_period,
            'st_period': st_period,
            'st_multiplier': st_multiplier,
        },
    ) }}

),

with_previous as (

    select
        *,
        lag(ema_fast) over bars as previous_ema_fast,
        lag(ema_slow) over bars as previous_ema_slow,
        lag(st_dir) over bars as previous_st_dir
    from features
    window bars as (partition by symbol, interval order by open_time)

),

flagged as (

    select
        with_previous.symbol,
        with_previous.interval,
        with_previous.open_time,
        with_previous.close,
        with_previous.ema_fast,
        with_previous.ema_slow,
        with_previous.rsi,
        with_previous.st_dir,
        with_previous.ingested_at,
        strategy.strategy_id,
        strategy.strategy_version,
        strategy.parameters,
        coalesce(
            with_previous.ema_fast > with_previous.ema_slow
            and with_previous.previous_ema_fast <= with_previous.previous_ema_slow,
            false
        ) as ema_cross,
        coalesce(
            with_previous.rsi between strategy.rsi_low and strategy.rsi_high, false
        ) as rsi_neutral,
        coalesce(with_previous.st_dir = 1, false) as st_bullish,
        coalesce(
            with_previous.st_dir = -1 and with_previous.previous_st_dir = 1, false
        ) as st_exit
    from with_previous
    cross join strategy

)

select
    strategy_id,
    strategy_version,
    parameters,
    symbol,
    interval,
    open_time,
    close,
    ema_fast,
    ema_slow,
    rsi,
    st_dir,
    ema_cross,
    rsi_neutral,
    st_bullish,
    st_exit,
    ema_cross and rsi_neutral and st_bullish as buy_signal,
    st_exit as sell_signal,
    ingested_at
from flagged
{{ signal_new_bars(incremental, 'flagged') }}
