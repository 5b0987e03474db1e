{#-
  Donchian Breakout: long when the close breaks above the highest high of the previous
  `entry_period` bars, exit when it breaks below the lowest low of the previous
  `exit_period` bars. Both periods are constants of the SQL that grids set at run time
  (`strategy_constant`), so grids evaluate this SQL as is.
-#}
{%- set compiled = strategy_compiled_parameters() -%}
{%- set entry_period = strategy_constant(compiled, 'entry_period') -%}
{%- set exit_period = strategy_constant(compiled, 'exit_period') -%}

{%- set incremental = signal_incremental() %}
-- depends_on: {{ ref('silver_klines') }}

with

{{ signal_changes(incremental, 'greatest(' ~ entry_period ~ ', ' ~ exit_period ~ ')') }}

features as (

    select
        symbol,
        interval,
        open_time,
        high,
        low,
        close,
        warmup_bars,
        ingested_at
    from {{ ref('gold_feature_store') }}
    {{ signal_lookback(incremental, 'gold_feature_store') }}

),

strategy as (

    {{ strategy_parameters({}) }}

),

channels as (

    select
        features.symbol,
        features.interval,
        features.open_time,
        features.close,
        features.ingested_at,
        strategy.strategy_id,
        strategy.strategy_version,
        strategy.parameters,
        {{ after_warmup(
            donchian_channel('high', 'low', entry_period, 'upper'), entry_period ~ ' - 1'
        ) }} as upper_channel,
        {{ after_warmup(
            donchian_channel('high', 'low', exit_period, 'lower'), exit_period ~ ' - 1'
        ) }} as lower_channel
    from features
    cross join strategy

),

levels as (

    select
        *,
        lag(upper_channel) over bars as entry_level,
        lag(lower_channel) over bars as exit_level
    from channels
    window bars as (partition by symbol, interval order by open_time)

),

flagged as (

    select
        *,
        coalesce(close > entry_level, false) as breakout,
        coalesce(close < exit_level, false) as breakdown
    from levels

)

select
    strategy_id,
    strategy_version,
    parameters,
    symbol,
    interval,
    open_time,
    close,
    entry_level,
    exit_level,
    breakout,
    breakdown,
    breakout as buy_signal,
    breakdown as sell_signal,
    ingested_at
from flagged
{{ signal_new_bars(incremental, 'flagged') }}
