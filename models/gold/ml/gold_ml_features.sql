{#-
  The model inputs the ML layer may use: scale-free transforms of `gold_feature_store`
  columns, one row per bar of the intervals of `ml_intervals`. A table rather than a view:
  creating a view while other models of the run read the feature store crashed DuckDB.
  `ml_features` picks the columns the classifier trains on; to add a feature, add a column
  here (or name any numeric column of this model) and list it in `ml_features`.
  Each row is computed from its own bar of the store, so incremental runs rewrite each
  changed series from its first new, re-landed or removed candle on (the bars from which
  `gold_features` rewrote it), the cursor `gold_features` keeps: the last bar and the last
  `ingested_at` built, and the candles built that silver_klines no longer has (their rows
  are deleted by the post-hook). A table built before `ingested_at` was kept is rebuilt
  once.
-#}
{%- set has_cursor = cursor_incremental() -%}
-- depends_on: {{ ref('silver_klines') }}

with

store as (

    select * from {{ ref('gold_feature_store') }}
    where interval in ({{ ml_interval_list() }})

),

{{ changed_series_rows(
    'features', 'store', has_cursor, intervals=ml_interval_list(), lookback=0
) }}

final as (

    select
        symbol,
        interval,
        open_time,
        close_time,
        close,
        warmup_bars,
        return_1,
        log_return_1,
        rsi_14 / 100 as rsi_14,
        close / ema_12 - 1 as close_to_ema_12,
        close / ema_26 - 1 as close_to_ema_26,
        close / ema_50 - 1 as close_to_ema_50,
        close / ema_200 - 1 as close_to_ema_200,
        ema_12 / ema_26 - 1 as ema_12_to_26,
        macd_hist_12_26_9 / close as macd_hist_to_close,
        atr_14 / close as atr_14_to_close,
        supertrend_dir_10_3::double as supertrend_dir_10_3,
        close / sma_20 - 1 as close_to_sma_20,
        (close - bb_lower_20_2) / nullif(bb_upper_20_2 - bb_lower_20_2, 0) as bb_position_20_2,
        volatility_20,
        volume_zscore_20,
        (close - donchian_lower_20) / nullif(donchian_upper_20 - donchian_lower_20, 0)
            as donchian_position_20,
        ingested_at
    from features

)

select * from final
