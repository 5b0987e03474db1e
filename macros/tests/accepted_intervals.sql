{% test accepted_intervals(model, column_name) %}
  {#-
    Fails with one row per value of `column_name` that is not a candle interval the lake
    accepts, i.e. not a key of the `intervals` var in dbt_project.yml.
  -#}

with

observed as (

    select distinct {{ column_name }} as interval_code
    from {{ model }}
    where {{ column_name }} is not null

)

select * from observed
where interval_code not in (
    {%- for code in var('intervals') %}'{{ code }}'{{ ", " if not loop.last }}{% endfor -%}
)

{% endtest %}
