{#-
  Smart Momentum signals per (symbol, interval, open_time), decided on the closed bar.
  Indicator periods pick feature-store columns at compile time (var `smart_momentum`, whose
  defaults equal the registry row); the RSI band is read from the `strategies` seed unless
  the var overrides it.
-#}
{%- set overrides = var('smart_momentum', {}) -%}
{%- set ema_fast = overrides.get('ema_fast', 12) | int -%}
{%- set ema_slow = overrides.get('ema_slow', 26) | int -%}
{%- set rsi_period = overrides.get('rsi_period', 14) | int -%}
{%- set st_period = overrides.get('st_period', 10) | int -%}
{%- set st_multiplier = overrides.get('st_multiplier', 3.0) | float -%}
{%- set st_whole = st_multiplier == (st_multiplier | int) -%}
{%- set st_text = (st_multiplier | int | string) if st_whole else (st_multiplier | string) -%}
{%- set st_suffix = st_period ~ '_' ~ st_text.replace('.', '_') -%}
{%- set rsi_bounds = {} -%}
{%- for bound in ['rsi_low', 'rsi_high'] -%}
    {%- if bound in overrides -%}
        {%- do rsi_bounds.update({bound: overrides[bound] | float | string}) -%}
    {%- else -%}
        {%- do rsi_bounds.update({bound: "json_extract(parameters, '$." ~ bound ~ "')"}) -%}
    {%- endif -%}
{%- endfor -%}

with

features as (

    select
        symbol,
        interval,
        open_time,
        close,
        ema_{{ ema_fast }} as ema_fast,
        ema_{{ ema_slow }} as ema_slow,
        rsi_{{ rsi_period }} as rsi,
        supertrend_dir_{{ st_suffix }} as st_dir
    from {{ ref('gold_feature_store') }}

),

strategy as (

    select
        strategy_id,
        version as strategy_version,
        {{ rsi_bounds['rsi_low'] }}::double as rsi_low,
        {{ rsi_bounds['rsi_high'] }}::double as rsi_high
    from {{ ref('strategies') }}
    where strategy_id = 'smart_momentum'

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
        strategy.strategy_id,
        strategy.strategy_version,
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
    st_exit as sell_signal
from flagged
