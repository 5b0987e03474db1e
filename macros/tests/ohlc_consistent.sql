{% test ohlc_consistent(model) %}
  {#-
    Fails with one row per candle whose prices contradict each other: high below open or
    close, low above open or close, or any price that is not strictly positive.
  -#}

with

candles as (

    select * from {{ model }}

)

select
    symbol,
    interval,
    open_time,
    open,
    high,
    low,
    close
from candles
where
    high < greatest(open, close)
    or low > least(open, close)
    or least(open, high, low, close) <= 0

{% endtest %}
