-- Fails with every strategy that is only half there: a registry row (seeds/strategies.csv)
-- without its signal model models/gold/signals/gold_signals_<strategy_id>.sql, or a signal
-- model without its registry row. A strategy is exactly both. The build's message names them.

{{ config(severity='error') }}

{%- set models = [] -%}
{%- if execute -%}
    {%- for node in graph.nodes.values() -%}
        {%- if node.resource_type == 'model' and node.name.startswith('gold_signals_') -%}
            {%- do models.append(node.name[('gold_signals_' | length):]) -%}
        {%- endif -%}
    {%- endfor -%}
{%- endif %}

with

registry as (

    select strategy_id from {{ ref('strategies') }}

),

signal_models as (

    select unnest([
        {%- for strategy_id in models %}
            '{{ strategy_id }}'{{ ',' if not loop.last }}
        {%- endfor %}
    ]::varchar[]) as strategy_id

),

rows_without_models as (

    select
        strategy_id,
        'registry row without its model models/gold/signals/gold_signals_'
        || strategy_id || '.sql' as problem
    from registry
    where strategy_id not in (select signal_models.strategy_id from signal_models)

),

models_without_rows as (

    select
        strategy_id,
        'signal model gold_signals_' || strategy_id
        || ' without its row in seeds/strategies.csv' as problem
    from signal_models
    where strategy_id not in (select registry.strategy_id from registry)

),

problems as (

    select * from rows_without_models
    union all
    select * from models_without_rows
),

message as (

    select
        string_agg(
            problems.strategy_id || ': ' || problems.problem, '; '
            order by problems.strategy_id
        ) as text
    from problems

)

-- error() names every half strategy in the build's output (a plain failure only counts them)
select problems.*
from problems
cross join message
where error('strategies only half defined: ' || message.text) is null
