{% macro signal_strategy_id() %}
    {#-
    The strategy id of the signal model being compiled: its name without the
    `gold_signals_` prefix (`gold_signals_donchian_breakout` -> `donchian_breakout`). Stops
    with an error naming the model when the name does not follow the convention or the id
    is not a safe identifier (lower case letters, digits and underscores, 63 at most). In a
    dbt unit test of a signal model, the model under test.
    -#}
    {%- set prefix = 'gold_signals_' -%}
    {%- set name = model.name -%}
    {%- if model.resource_type == 'unit_test' and model.tested_node_unique_id -%}
        {%- set name = model.tested_node_unique_id.split('.')[-1] -%}
    {%- endif -%}
    {%- set strategy_id = name[prefix | length:] if name.startswith(prefix) else '' -%}
    {%- if not modules.re.fullmatch('[a-z][a-z0-9_]{0,62}', strategy_id) -%}
        {{ exceptions.raise_compiler_error(
            "signal model " ~ name ~ ": the name must read gold_signals_<strategy_id> with a "
            ~ "lower-case identifier as strategy id"
        ) }}
    {%- endif -%}
    {{ return(strategy_id) }}
{% endmacro %}
