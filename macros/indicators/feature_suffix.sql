{% macro feature_suffix(params) %}
  {#-
    Column-name suffix of indicator parameters, as hermes.indicators.recursive_features
    writes it: [10, 3] -> 10_3, [20, 2.5] -> 20_2_5 (integral floats lose their decimals).
  -#}
  {%- set parts = [] -%}
  {%- for value in (params if params is iterable and params is not string else [params]) -%}
    {%- set number = value | float -%}
    {%- do parts.append((number | int | string) if number == (number | int) else (number | string).replace('.', '_')) -%}
  {%- endfor -%}
  {{- parts | join('_') -}}
{%- endmacro %}
