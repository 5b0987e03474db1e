{% macro after_warmup(expression, lookback) %}
  {#-
    `expression` on rows with at least `lookback` earlier bars in their series (column
    `warmup_bars`), NULL inside the warm-up. `lookback` is a number or a SQL expression.
  -#}
  {%- set bars = (lookback | int) if lookback is number else '(' ~ lookback ~ ')' -%}
  case when warmup_bars >= {{ bars }} then {{ expression }} end
{%- endmacro %}
