{% macro bars_window(period) %}
  {#-
    Window over the last `period` bars of a series, the current one included: partitioned
    by symbol and interval, ordered by open_time (never crosses series).
  -#}
  (partition by symbol, interval order by open_time rows between {{ period | int - 1 }} preceding and current row)
{%- endmacro %}
