{% macro donchian_channel(high, low, period, side) %}
  {#-
    Donchian channel over the last `period` bars: 'upper' = highest high (TA-Lib MAX),
    'lower' = lowest low (TA-Lib MIN), 'middle' = their mean. Lookback: period - 1 bars.
  -#}
  {%- if side == 'upper' -%}
    max({{ high }}) over {{ bars_window(period) }}
  {%- elif side == 'lower' -%}
    min({{ low }}) over {{ bars_window(period) }}
  {%- elif side == 'middle' -%}
    (max({{ high }}) over {{ bars_window(period) }} + min({{ low }}) over {{ bars_window(period) }}) / 2
  {%- else -%}
    {{ exceptions.raise_compiler_error("donchian_channel side must be upper, middle or lower, got " ~ side) }}
  {%- endif -%}
{%- endmacro %}
