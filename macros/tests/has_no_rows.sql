{% test has_no_rows(model) %}
  {#-
    Fails with every row of `model`: for models that list problems, such as
    `silver_kline_gaps` (one row per missing candle range), where any row deserves notice.
  -#}

select * from {{ model }}

{% endtest %}
