{% macro epoch_to_timestamp(epoch_column, unit_column) %}
  {#-
    UTC timestamp from an exchange epoch value: Binance spot archives use milliseconds
    until 2024-12-31 and microseconds from 2025-01-01; `unit_column` says which ('ms'/'us').
  -#}
  make_timestamp(case when {{ unit_column }} = 'us' then {{ epoch_column }} else {{ epoch_column }} * 1000 end)
{%- endmacro %}
