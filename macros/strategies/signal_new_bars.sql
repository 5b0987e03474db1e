{% macro signal_new_bars(incremental, relation) %}
    {#-
    The filter of an incremental signal model's final select (nothing on a full build): the
    bars of the changed series from their first changed one on (see `signal_changes`), the
    rows delete+insert writes. `relation` is the CTE the final select reads.
    -#}
    {%- if incremental -%}
        /*hermes:incremental*/where {{ relation }}.open_time >= (
    select changes.first_changed from changes
    where changes.symbol = {{ relation }}.symbol and changes.interval = {{ relation }}.interval
)/*hermes:end*/
    {%- endif -%}
{% endmacro %}
