{% macro rolling_stddev(column, period) %}
  {#-
    Population standard deviation of `column` over the last `period` bars (TA-Lib STDDEV
    with nbdev 1). Lookback: period - 1 bars.
  -#}
  stddev_pop({{ column }}) over {{ bars_window(period) }}
{%- endmacro %}
