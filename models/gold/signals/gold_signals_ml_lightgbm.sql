{#-
  ML LightGBM: long when the out-of-sample probability of gold_ml_predictions (walk-forward
  LightGBM, purged and embargoed: the probability that the next `ml_horizon` bars pay for
  one round trip's costs), averaged over the last `ml_horizon` bars, is above
  `entry_threshold`; exit when that average is below `exit_threshold`. The average keeps the
  strategy from trading every wobble of the probability around the thresholds (one bar's
  prediction is about `ml_horizon` bars ahead; unaveraged it made ~900 round trips on
  BTCUSDT 4h). Both thresholds are read at run time. Every bar of the feature store has a
  row; a bar without a full window of predictions (another interval, a block without a
  model, a feature in warm-up) decides neither.
-#}
{%- set horizon = var('ml_horizon') | int -%}

{%- set incremental = signal_incremental() %}
-- depends_on: {{ ref('silver_klines') }}

with

{{ signal_changes(incremental, horizon) }}

features as (

    select
        symbol,
        interval,
        open_time,
        close,
        ingested_at
    from {{ ref('gold_feature_store') }}
    {{ signal_lookback(incremental, 'gold_feature_store') }}

),

predictions as (

    select
        symbol,
        interval,
        open_time,
        probability_up,
        model_version
    from {{ ref('gold_ml_predictions') }}

),

strategy as (

    {{ strategy_parameters({'entry_threshold': 'double', 'exit_threshold': 'double'}) }}

),

joined as (

    select
        features.symbol,
        features.interval,
        features.open_time,
        features.close,
        features.ingested_at,
        predictions.probability_up,
        predictions.model_version,
        strategy.strategy_id,
        strategy.strategy_version,
        strategy.parameters,
        strategy.entry_threshold,
        strategy.exit_threshold
    from features
    left join predictions using (symbol, interval, open_time)
    cross join strategy

),

smoothed as (

    select
        *,
        case
            when count(probability_up) over horizon = {{ horizon }}
                then avg(probability_up) over horizon
        end as mean_probability
    from joined
    window horizon as (
        partition by symbol, interval order by open_time
        rows between {{ horizon - 1 }} preceding and current row
    )

),

flagged as (

    select
        *,
        coalesce(mean_probability > entry_threshold, false) as confident_up,
        coalesce(mean_probability < exit_threshold, false) as confidence_lost
    from smoothed

)

select
    strategy_id,
    strategy_version,
    parameters,
    symbol,
    interval,
    open_time,
    close,
    probability_up,
    mean_probability,
    model_version,
    confident_up,
    confidence_lost,
    confident_up as buy_signal,
    confidence_lost as sell_signal,
    ingested_at
from flagged
{{ signal_new_bars(incremental, 'flagged') }}
