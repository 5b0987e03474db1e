with

klines as (

    select * from {{ ref('silver_klines') }}

),

gaps as (

    select * from {{ ref('silver_kline_gaps') }}

),

bronze as (

    select * from {{ ref('bronze_klines') }}

),

present as (

    select
        symbol,
        interval,
        date_trunc('month', open_time) as month,
        count(*) as present_candles,
        count(*) filter (where not is_high_valid) as high_below_open_close,
        count(*) filter (where not is_low_valid) as low_above_open_close,
        count(*) filter (where not is_volume_valid) as negative_volume,
        count(*) filter (where not is_price_positive) as non_positive_price,
        max(open_time) as last_open_time
    from klines
    group by all

),

missing_candles as (

    -- one row per missing candle slot, so gaps spanning months count in each month
    select
        gaps.symbol,
        gaps.interval,
        date_trunc('month', slot.open_time) as month
    from gaps
    cross join lateral (
        select unnest(
            generate_series(gaps.gap_start, gaps.gap_end, {{ interval_length('gaps.interval') }})
        ) as open_time
    ) as slot

),

missing as (

    select symbol, interval, month, count(*) as missing_candles
    from missing_candles
    group by all

),

duplicates as (

    select
        symbol,
        interval,
        date_trunc('month', {{ epoch_to_timestamp('open_time', 'time_unit') }}) as month,
        count(*) - count(distinct open_time) as duplicate_rows
    from bronze
    group by all

),

final as (

    select
        present.symbol,
        present.interval,
        present.month,
        present.present_candles + coalesce(missing.missing_candles, 0) as expected_candles,
        present.present_candles,
        coalesce(missing.missing_candles, 0) as missing_candles,
        round(
            100.0 * present.present_candles
            / (present.present_candles + coalesce(missing.missing_candles, 0)),
            4
        ) as completeness_pct,
        coalesce(duplicates.duplicate_rows, 0) as duplicate_rows,
        present.high_below_open_close,
        present.low_above_open_close,
        present.negative_volume,
        present.non_positive_price,
        present.high_below_open_close + present.low_above_open_close
        + present.negative_volume + present.non_positive_price as anomaly_count,
        present.last_open_time
    from present
    left join missing using (symbol, interval, month)
    left join duplicates using (symbol, interval, month)

)

select * from final
