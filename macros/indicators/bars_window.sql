{% macro bars_window(period) %}
  {#-
    Window over the last `period` bars of a series, the current one included: partitioned
    by symbol and interval, ordered by open_time (never crosses series). `period` is a
    number, or a constant SQL expression (`strategy_constant`: a strategy parameter that
    grids set when they evaluate a signal model).
  -#}
  {%- set preceding = (period | int - 1) if period is number else '(' ~ period ~ ') - 1' -%}
  (partition by symbol, interval order by open_time rows between {{ preceding }} preceding and current row)
{%- endmacro %}
