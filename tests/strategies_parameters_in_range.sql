-- Fails with every registry parameter that has no range, every range without its
-- parameter, every malformed range and every default outside its range.

{{ config(severity='error') }}

with

registry as (

    select
        strategy_id,
        parameters::json as parameters,
        parameter_ranges::json as parameter_ranges
    from {{ ref('strategies') }}

),

names as (

    select
        strategy_id,
        parameters,
        parameter_ranges,
        unnest(list_distinct(
            list_concat(json_keys(parameters), json_keys(parameter_ranges))
        )) as parameter
    from registry

),

bounds as (

    select
        strategy_id,
        parameter,
        json_extract(parameters, '$."' || parameter || '"') as default_value,
        json_extract(parameter_ranges, '$."' || parameter || '"') as parameter_range
    from names

),

checked as (

    select
        strategy_id,
        parameter,
        case
            when default_value is null then 'range without a parameter'
            when parameter_range is null then 'parameter without a range'
            when
                json_type(parameter_range) != 'ARRAY'
                or json_array_length(parameter_range) != 2
                then 'range is not [minimum, maximum]'
            when json_type(default_value) not in ('UBIGINT', 'BIGINT', 'DOUBLE')
                then 'default is not a number'
            when
                default_value::double < (parameter_range ->> 0)::double
                or default_value::double > (parameter_range ->> 1)::double
                then 'default outside its range'
        end as problem
    from bounds

),

failed as (

    select * from checked
    where problem is not null
),

message as (

    select
        string_agg(
            failed.strategy_id || '.' || failed.parameter || ': ' || failed.problem, '; '
            order by failed.strategy_id, failed.parameter
        ) as text
    from failed

)

-- error() names every bad parameter in the build's output
select failed.*
from failed
cross join message
where error('strategy parameters of seeds/strategies.csv: ' || message.text) is null
