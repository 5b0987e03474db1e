{{ config(on_schema_change='fail') }}
{#-
  Production features: one row per candle. Window indicators come from the macros in
  macros/indicators/, recursive ones from gold_recursive_indicators (Python). Incremental
  runs write the bars from the first new, re-landed or removed candle of each changed
  series on (`changed_series`); the post-hook deletes the rows of removed candles.
  Each changed series is read from `lookback` bars before that candle, the longest window
  of the feature vars and one bar more (a return's lag before a volatility's window):
  DuckDB computes each window frame from its own rows (`debug_window_mode` of the
  profile), so these bars' windows equal a full build's to the bit.
-#}
{%- set sma_periods = var('feature_sma_periods') -%}
{%- set bollinger_params = var('feature_bollinger_params') -%}
{%- set return_periods = var('feature_return_periods') -%}
{%- set volatility_periods = var('feature_volatility_periods') -%}
{%- set zscore_periods = var('feature_volume_zscore_periods') -%}
{%- set donchian_periods = var('feature_donchian_periods') -%}
{%- set lookback = (
    sma_periods + bollinger_params | map('first') | list + return_periods + volatility_periods
    + zscore_periods + donchian_periods + [1]
) | map('int') | max + 1 -%}

with

klines as (

    select * from {{ ref('silver_klines') }}

),

recursive_indicators as (

    select * from {{ ref('gold_recursive_indicators') }}

),

{{ changed_series_rows(
    'series', 'klines', is_incremental(), klines='klines', lookback=lookback
) }}

bars as (

    select
        series.*,
        recursive_indicators.warmup_bars,
        {%- for column in gold_recursive_feature_columns() %}
            recursive_indicators.{{ column }},
        {%- endfor %}
        {{ log_return('series.close', 1) }} as bar_log_return,
        {{ true_range('series.high', 'series.low', 'series.close') }} as bar_true_range
    from series
    inner join recursive_indicators using (symbol, interval, open_time)

),

windows as (

    select
        symbol,
        interval,
        open_time,
        close_time,
        open,
        high,
        low,
        close,
        volume,
        quote_asset_volume,
        number_of_trades,
        warmup_bars,
        {%- for column in gold_recursive_feature_columns() if column.startswith('ema_') %}
            {{ column }},
        {%- endfor %}
        {%- for period in sma_periods %}
            {{ after_warmup(sma('close', period), period | int - 1) }} as sma_{{ period }},
        {%- endfor %}
        {%- for column in gold_recursive_feature_columns() if not column.startswith('ema_') %}
            {{ column }},
        {%- endfor %}
        {%- for period, stddevs in bollinger_params %}
            {%- set s = feature_suffix([period, stddevs]) %}
            {%- for side in ['upper', 'middle', 'lower'] %}
                {{ after_warmup(bollinger_band('close', period, stddevs, side), period | int - 1) }}
                    as bb_{{ side }}_{{ s }},
            {%- endfor %}
        {%- endfor %}
        {%- for bars in return_periods %}
            {{ after_warmup(simple_return('close', bars), bars) }} as return_{{ bars }},
            {{ after_warmup(log_return('close', bars), bars) }} as log_return_{{ bars }},
        {%- endfor %}
        {%- for period in volatility_periods %}
            {{ after_warmup(rolling_volatility('bar_log_return', period), period) }}
                as volatility_{{ period }},
        {%- endfor %}
        {%- for period in zscore_periods %}
            {{ after_warmup(zscore('volume', period), period | int - 1) }}
                as volume_zscore_{{ period }},
        {%- endfor %}
        {{ after_warmup('bar_true_range', 1) }} as true_range,
        {%- for period in donchian_periods %}
            {%- for side in ['upper', 'lower'] %}
                {{ after_warmup(donchian_channel('high', 'low', period, side), period | int - 1) }}
                    as donchian_{{ side }}_{{ period }},
            {%- endfor %}
        {%- endfor %}
        is_valid,
        ingested_at,
        first_changed
    from bars

),

final as (

    select * exclude (first_changed)
    from windows
    {%- if is_incremental() %}
        where open_time >= first_changed
    {%- endif %}

)

select * from final
