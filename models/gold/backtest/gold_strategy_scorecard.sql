{#-
  The strategy glossary with performance: every registry row joined with its latest
  full-history single backtest per (symbol, interval). A view, so it always reflects the
  runs of the snapshot it is read at (`hermes strategies` reads the published one). Before
  any backtest ran (no runs table yet) the metrics are NULL.
-#}
{{ config(materialized='view') }}
{%- set runs = source('backtest', 'gold_backtest_runs') -%}
{%- set runs_relation = load_relation(runs) if execute else none -%}

with

registry as (

    select * from {{ ref('strategies') }}

),

runs as (

    {% if runs_relation is not none %}
        select * from {{ source('backtest', 'gold_backtest_runs') }}
        where run_kind = 'single' and period_start is null and period_end is null
    {% else %}
        select
            null::varchar as run_id,
            null::timestamp as created_at,
            null::varchar as strategy_id,
            null::varchar as strategy_version,
            null::varchar as parameters,
            null::varchar as symbol,
            null::varchar as interval,
            null::timestamp as first_open_time,
            null::timestamp as last_open_time,
            null::bigint as snapshot_id,
            null::double as total_return,
            null::double as cagr,
            null::double as sharpe,
            null::double as max_drawdown,
            null::bigint as trades,
            null::double as exposure,
            null::double as buy_and_hold_return
        where false
    {% endif %}

),

latest as (

    select *
    from runs
    qualify row_number() over (
        partition by strategy_id, symbol, interval order by created_at desc, run_id desc
    ) = 1

)

select
    registry.strategy_id,
    registry.name,
    registry.version,
    registry.status,
    registry.tags,
    registry.description,
    latest.symbol,
    latest.interval,
    latest.run_id,
    latest.created_at as run_created_at,
    latest.strategy_version as run_strategy_version,
    latest.parameters as run_parameters,
    latest.first_open_time,
    latest.last_open_time,
    latest.total_return,
    latest.cagr,
    latest.sharpe,
    latest.max_drawdown,
    latest.trades,
    latest.exposure,
    latest.buy_and_hold_return,
    latest.snapshot_id
from registry
left join latest on registry.strategy_id = latest.strategy_id
