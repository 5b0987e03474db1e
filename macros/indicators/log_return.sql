{% macro log_return(column, bars=1) %}
  {#-
    Log return over `bars` bars: ln(column / column `bars` bars earlier) (ln of TA-Lib ROCR).
    Lookback: `bars` bars.
  -#}
  ln({{ column }} / lag({{ column }}, {{ bars | int }}) over (partition by symbol, interval order by open_time))
{%- endmacro %}
