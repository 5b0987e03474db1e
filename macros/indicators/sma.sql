{% macro sma(column, period) %}
  {#-
    Simple moving average: mean of `column` over the last `period` bars (TA-Lib SMA).
    Lookback: period - 1 bars.
  -#}
  avg({{ column }}) over {{ bars_window(period) }}
{%- endmacro %}
