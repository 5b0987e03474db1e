{% macro strategy_constant(compiled, name, sql_type='integer') %}
    {#-
    A strategy parameter as a constant SQL expression, for the places SQL needs a constant
    (window frame lengths): the DuckDB variable `hermes_parameters` when Hermes evaluates
    the model for another parameter set, else `compiled[name]` (the registry's value, or
    the dbt var's; from `strategy_compiled_parameters()`). DuckDB folds it to a literal
    when the query is bound, so the window runs as with a written number (same algorithm,
    same bits as the feature store's windows), and grids still evaluate the compiled SQL
    for any value.
    -#}
    coalesce(
        cast(json_extract(getvariable('hermes_parameters'), '$.{{ name }}') as {{ sql_type }}),
        cast({{ compiled.get(name, 0) }} as {{ sql_type }})
    )
{%- endmacro %}
