{% macro zscore(column, period) %}
  {#-
    Rolling z-score: (column - mean) / population stddev over the last `period` bars, NULL
    when the stddev is zero. Lookback: period - 1 bars.
  -#}
  ({{ column }} - {{ sma(column, period) }}) / nullif({{ rolling_stddev(column, period) }}, 0)
{%- endmacro %}
