{% macro strategy_compiled_parameters() %}
    {#-
    The signal model's strategy parameters as a dict at compile time, for the parameters a
    model must bake into its SQL (e.g. which feature-store column holds `ema_<period>`):
    the registry row read from the built `strategies` seed, updated with the dbt var
    `strategy_parameters`. Before the seed is built (parsing, linting), and in a dbt unit
    test (whose registry is a mocked input, not a table), the dict holds only the var's
    values. Pass the values used to `strategy_parameters(..., compiled=...)`
    so that evaluating the model with other values fails loudly.
    -#}
    {%- set strategy_id = signal_strategy_id() -%}
    {%- set found = {} -%}
    {%- if execute and model.resource_type != 'unit_test' -%}
        {%- set registry = load_relation(ref('strategies')) -%}
        {%- if registry is not none -%}
            {%- set rows = run_query(
                "select parameters from " ~ registry
                ~ " where strategy_id = '" ~ strategy_id ~ "'"
            ) -%}
            {%- if rows | length == 1 -%}
                {%- do found.update(fromjson(rows.columns[0].values()[0])) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endif -%}
    {%- do found.update(var('strategy_parameters', {}).get(strategy_id, {})) -%}
    {{ return(found) }}
{% endmacro %}
