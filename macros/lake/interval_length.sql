{% macro interval_length(interval_column) %}
  {#-
    Length of a candle interval (e.g. '4h') as a DuckDB interval, from the `intervals`
    var (interval code -> seconds). Unknown codes give null.
  -#}
  to_seconds(case {{ interval_column }}
    {%- for code, seconds in var('intervals').items() %}
    when '{{ code }}' then {{ seconds | int }}
    {%- endfor %}
  end)
{%- endmacro %}
