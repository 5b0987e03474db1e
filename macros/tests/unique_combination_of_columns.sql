{% test unique_combination_of_columns(model, combination_of_columns) %}
  {#-
    Fails with one row per combination of `combination_of_columns` that occurs more than
    once in `model` (e.g. a candle key: symbol, interval, open_time), with its count.
  -#}
  {%- set columns = combination_of_columns | join(', ') %}

with

counted as (

    select
        {{ columns }},
        count(*) as occurrences
    from {{ model }}
    group by {{ columns }}

)

select * from counted
where occurrences > 1

{% endtest %}
