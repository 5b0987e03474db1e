{% test non_negative(model, column_name) %}
  {#-
    Fails with one row per value of `column_name` below zero (volumes, counts). Nulls are
    left to the not_null test.
  -#}

select {{ column_name }} as negative_value
from {{ model }}
where {{ column_name }} < 0

{% endtest %}
