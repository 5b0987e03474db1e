{% macro true_range(high, low, close) %}
  {#-
    True range (TA-Lib TRANGE): greatest of high - low, |high - previous close| and
    |low - previous close|. Lookback: 1 bar.
  -#}
  greatest(
    {{ high }} - {{ low }},
    abs({{ high }} - lag({{ close }}) over (partition by symbol, interval order by open_time)),
    abs({{ low }} - lag({{ close }}) over (partition by symbol, interval order by open_time))
  )
{%- endmacro %}
