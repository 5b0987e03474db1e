{% macro after_warmup(expression, lookback) %}
  {#-
    `expression` on rows with at least `lookback` earlier bars in their series (column
    `warmup_bars`), NULL inside the warm-up.
  -#}
  case when warmup_bars >= {{ lookback | int }} then {{ expression }} end
{%- endmacro %}
