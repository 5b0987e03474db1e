{% macro ml_interval_list() %}
    {#-
    The candle intervals of the ML layer (var `ml_intervals`), as a SQL list of quoted
    literals; each must be one of the lake's intervals (var `intervals`).
    -#}
    {%- set known = var('intervals') -%}
    {%- for interval in var('ml_intervals') -%}
        {%- if interval not in known -%}
            {{ exceptions.raise_compiler_error(
                "var ml_intervals: " ~ interval ~ " is not an interval of var intervals"
            ) }}
        {%- endif -%}
        '{{ interval }}'{{ ', ' if not loop.last }}
    {%- endfor -%}
{% endmacro %}
