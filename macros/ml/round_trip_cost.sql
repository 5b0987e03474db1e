{% macro round_trip_cost() %}
    {#-
    One round trip's cost as a fraction (entry and exit, each paying fees and slippage):
    2 * (fees + slippage) of var `costs`, the settings backtests default to (hermes.costs).
    The ML labels call a forward move within it neutral: it cannot pay for itself.
    -#}
    {%- set costs = var('costs') -%}
    {{- 2 * ((costs['fees'] | float) + (costs['slippage'] | float)) -}}
{% endmacro %}
