{#-
  Forward-return labels per (symbol, interval, open_time, horizon), for the intervals of
  `ml_intervals` and the horizons (in bars) of `ml_label_horizons`. The forward return runs
  from this bar's close to the close `horizon` bars later; `label` is +1 above the neutral
  band, -1 below minus the band, 0 inside it. The band is one round trip's cost
  (`round_trip_cost()`: 2 * (fees + slippage) of var `costs`): a move that cannot pay for
  its own entry and exit is not a signal. `label_until` is the
  close time of the bar that decides the label: nothing may use the label before then. The
  last `horizon` bars of a series have no label yet (NULL label, return and label_until).
  Read from gold_ml_features (its bars and closes, not its features); kept apart from the
  features on purpose: no feature model may read this one.
-#}
{%- set horizons = var('ml_label_horizons') -%}
{%- set band = round_trip_cost() | float -%}

with

bars as (

    select
        symbol,
        interval,
        open_time,
        close_time,
        close
    from {{ ref('gold_ml_features') }}

),

horizons as (

    select unnest([{{ horizons | join(', ') }}]::integer[]) as horizon

),

forward as (

    select
        bars.symbol,
        bars.interval,
        bars.open_time,
        horizons.horizon,
        bars.close,
        lead(bars.close, horizons.horizon) over series as future_close,
        lead(bars.close_time, horizons.horizon) over series as label_until
    from bars
    cross join horizons
    window series as (
        partition by bars.symbol, bars.interval, horizons.horizon order by bars.open_time
    )

),

labelled as (

    select
        symbol,
        interval,
        open_time,
        horizon,
        close,
        label_until,
        future_close / close - 1 as forward_return
    from forward

)

select
    symbol,
    interval,
    open_time,
    horizon,
    close,
    forward_return,
    label_until,
    case
        when forward_return > {{ band }} then 1
        when forward_return < -{{ band }} then -1
        when forward_return is not null then 0
    end::tinyint as label
from labelled
