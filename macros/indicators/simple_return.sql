{% macro simple_return(column, bars=1) %}
  {#-
    Simple return over `bars` bars: column / column `bars` bars earlier - 1 (TA-Lib ROCR - 1).
    Lookback: `bars` bars.
  -#}
  {{ column }} / lag({{ column }}, {{ bars | int }}) over (partition by symbol, interval order by open_time) - 1
{%- endmacro %}
