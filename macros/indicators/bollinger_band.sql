{% macro bollinger_band(column, period, stddevs, side) %}
  {#-
    Bollinger band (TA-Lib BBANDS, simple moving average): middle = SMA(period);
    upper/lower = middle +/- stddevs * population stddev over the same bars.
    `side` is 'upper', 'middle' or 'lower'. Lookback: period - 1 bars. `period` and
    `stddevs` are numbers or SQL expressions (see `bars_window`).
  -#}
  {%- if side == 'middle' -%}
    {{ sma(column, period) }}
  {%- elif side in ('upper', 'lower') -%}
    {{ sma(column, period) }} {{ '+' if side == 'upper' else '-' }} {{ (stddevs | float) if stddevs is number else '(' ~ stddevs ~ ')' }} * {{ rolling_stddev(column, period) }}
  {%- else -%}
    {{ exceptions.raise_compiler_error("bollinger_band side must be upper, middle or lower, got " ~ side) }}
  {%- endif -%}
{%- endmacro %}
