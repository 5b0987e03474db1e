{% macro strategy_parameters(types, compiled={}) %}
    {#-
    A one-row select of the signal model's strategy parameters, for its import CTE: the
    registry row (`strategies` seed) with `strategy_id`, `strategy_version`, `parameters`
    (the effective JSON object) and one typed column per entry of `types` (name -> SQL
    type, e.g. {'period': 'integer'}).

    The effective parameters are, by precedence: the DuckDB variable `hermes_parameters`
    (set by Hermes when it evaluates the model's compiled SQL for other parameter sets,
    e.g. a grid), the dbt var `strategy_parameters`
    (`--vars '{strategy_parameters: {donchian_breakout: {period: 30}}}'`), the registry.
    Parameters in `compiled` (name -> value, from `strategy_compiled_parameters`) are baked
    into the SQL at compile time: evaluating it with another value stops with an error
    naming the parameter.
    -#}
    {%- set strategy_id = signal_strategy_id() -%}
    {%- set overrides = var('strategy_parameters', {}).get(strategy_id, {}) -%}
    select
        effective.strategy_id,
        effective.version as strategy_version,
        effective.parameters
        {%- for name, sql_type in types.items() %},
        cast(json_extract(effective.parameters, '$.{{ name }}') as {{ sql_type }}) as {{ name }}
        {%- endfor %}
    from (
        select
            strategy_id,
            version,
            coalesce(
                getvariable('hermes_parameters'),
                json_merge_patch(parameters, '{{ tojson(overrides) | replace("'", "''") }}')
            )::varchar as parameters
        from {{ ref('strategies') }}
        where strategy_id = '{{ strategy_id }}'
    ) as effective
    where
        true
        {%- for name, value in compiled.items() %}
        and case
            when
                json_extract(effective.parameters, '$.{{ name }}')::double
                is distinct from {{ value }}::double
                then error(
                    '{{ strategy_id }}: parameter {{ name }} is compiled into the model as '
                    || '{{ value }}; rebuild the model with the other value'
                )
            else true
        end
        {%- endfor %}
{% endmacro %}
