{% macro gold_recursive_feature_columns() %}
  {#-
    Feature columns of gold_recursive_indicators, from the feature vars, in the order
    hermes.indicators.recursive_features.RecursiveParams.feature_columns() writes them.
  -#}
  {%- set columns = [] -%}
  {%- for period in var('feature_ema_periods') -%}
    {%- do columns.append('ema_' ~ period) -%}
  {%- endfor -%}
  {%- for period in var('feature_rsi_periods') -%}
    {%- do columns.append('rsi_' ~ period) -%}
  {%- endfor -%}
  {%- for period in var('feature_atr_periods') -%}
    {%- do columns.append('atr_' ~ period) -%}
  {%- endfor -%}
  {%- for params in var('feature_supertrend_params') -%}
    {%- set s = feature_suffix(params) -%}
    {%- do columns.extend(['supertrend_' ~ s, 'supertrend_dir_' ~ s]) -%}
  {%- endfor -%}
  {%- for params in var('feature_macd_params') -%}
    {%- set s = feature_suffix(params) -%}
    {%- do columns.extend(['macd_' ~ s, 'macd_signal_' ~ s, 'macd_hist_' ~ s]) -%}
  {%- endfor -%}
  {{ return(columns) }}
{%- endmacro %}
