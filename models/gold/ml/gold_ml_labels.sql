{{ config(unique_key=['symbol', 'interval', 'open_time', 'horizon']) }}
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
  Incremental runs follow silver_klines with `changed_series` (the cursor of
  gold_ml_features: the last bar and the last `ingested_at` built): each changed series is
  read and its rows are written from the first bar whose label looks at a new, re-landed
  or removed candle on (the longest horizon's bars before the first changed one: `lead()`
  looks forward only); the post-hook deletes the rows of removed candles. A table built before it kept
  `ingested_at` is rebuilt once.
-#}
{%- set horizons = var('ml_label_horizons') -%}
{%- set band = round_trip_cost() | float -%}
{%- set longest = horizons | map('int') | max -%}
{%- set has_cursor = cursor_incremental() -%}
-- depends_on: {{ ref('silver_klines') }}

with

features as (

    select
        symbol,
        interval,
        open_time,
        close_time,
        close,
        ingested_at
    from {{ ref('gold_ml_features') }}

),

{{ changed_series_rows(
    'bars', 'features', has_cursor, intervals=ml_interval_list(), lookback=longest
) }}

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
        bars.ingested_at,
        bars.first_changed,
        lead(bars.close, horizons.horizon) over series as future_close,
        lead(bars.close_time, horizons.horizon) over series as label_until,
        -- the last bar this row's labels look at (NULL: the series ends before it)
        lead(bars.open_time, {{ longest }}) over series as last_seen
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
        future_close / close - 1 as forward_return,
        ingested_at
    from forward
    {%- if has_cursor %}
        where last_seen is null or last_seen >= first_changed
    {%- endif %}

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
    end::tinyint as label,
    ingested_at
from labelled
