{#-
  The strategy glossary with performance: every registry row joined with its latest
  full-history single backtest per (symbol, interval). A view, so it always reflects the
  runs of the snapshot it is read at (`hermes strategies` reads the published one). Before
  any backtest ran (no runs table yet) the metrics are NULL.

  `verdict` says whether the strategy earns its place: a strategy tagged `walk-forward`
  decides only out of sample (its models never saw the bars they decide), so its
  full-history runs are out-of-sample results after costs; it `beats cash` when every one
  of them ends above zero, and `loses to cash` otherwise (such a strategy belongs in
  `experimental`: not run by the daily job or paper trading). Other strategies are `in
  sample` (their rules were chosen on the history they are measured on).
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

),

verdicts as (

    select
        registry.strategy_id,
        case
            when not list_contains(string_split(registry.tags, '|'), 'walk-forward')
                then 'in sample'
            when count(latest.total_return) = 0 then 'not measured'
            when min(latest.total_return) > 0 then 'beats cash'
            else 'loses to cash'
        end as verdict
    from registry
    left join latest on registry.strategy_id = latest.strategy_id
    group by registry.strategy_id, registry.tags

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
    latest.snapshot_id,
    verdicts.verdict
from registry
left join latest on registry.strategy_id = latest.strategy_id
left join verdicts on registry.strategy_id = verdicts.strategy_id
