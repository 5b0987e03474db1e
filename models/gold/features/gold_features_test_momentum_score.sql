{#-
  Experimental: 20-bar momentum in units of its expected noise, a t-statistic-like score:
  ln(close / close 20 bars earlier) / (volatility_20 * sqrt(20)).
-#}
{%- set bars = 20 -%}

with

features as (

    select * from {{ ref('gold_features') }}

),

momentum as (

    select
        symbol,
        interval,
        open_time,
        warmup_bars,
        volatility_20,
        {{ log_return('close', bars) }} as log_return_20
    from features

),

final as (

    select
        symbol,
        interval,
        open_time,
        {{ after_warmup(
            'log_return_20 / nullif(volatility_20 * sqrt(' ~ bars ~ '), 0)', bars
        ) }} as momentum_score_20
    from momentum

)

select * from final
