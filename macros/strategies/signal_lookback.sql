{% macro signal_lookback(incremental, relation) %}
    {#-
    The filter of an incremental signal model's import of gold_feature_store (nothing on a
    full build): the bars of the changed series from their `read_from` index on (see
    `signal_changes`). `relation` is the name the import's columns are qualified with
    (`gold_feature_store` when it reads the ref without an alias).
    -#}
    {%- if incremental -%}
        /*hermes:incremental*/where {{ relation }}.warmup_bars >= (
        select changes.read_from from changes
        where changes.symbol = {{ relation }}.symbol and changes.interval = {{ relation }}.interval
    )/*hermes:end*/
    {%- endif -%}
{% endmacro %}
