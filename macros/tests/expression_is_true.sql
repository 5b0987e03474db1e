{% test expression_is_true(model, expression) %}
  {#-
    Fails with one row per row of `model` where the boolean SQL `expression` is not true
    (false or null), e.g. `close_time > open_time`.
  -#}

select *
from {{ model }}
where not coalesce({{ expression }}, false)

{% endtest %}
