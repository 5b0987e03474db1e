{% macro rolling_volatility(log_return_column, period) %}
  {#-
    Rolling volatility: population standard deviation of the one-bar log returns
    `log_return_column` over the last `period` bars (not annualised). Lookback: period bars
    (period returns need period + 1 bars).
  -#}
  {{ rolling_stddev(log_return_column, period) }}
{%- endmacro %}
