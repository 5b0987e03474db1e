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

missing_slots as (

    -- one row per missing candle slot, so gaps spanning months count in each month
    select
        symbol,
        interval,
        unnest(
            generate_series(gap_start, gap_end, {{ interval_length('interval') }})
        ) as open_time
    from gaps

),

missing as (

    select
        symbol,
        interval,
        date_trunc('month', open_time) as month,
        count(*) as missing_candles
    from missing_slots
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

months as (

    -- a month inside a long outage has missing candles and no present ones
    select
        symbol,
        interval,
        month
    from present
    union
    select
        symbol,
        interval,
        month
    from missing

),

final as (

    select
        months.symbol,
        months.interval,
        months.month,
        coalesce(present.present_candles, 0)
        + coalesce(missing.missing_candles, 0) as expected_candles,
        coalesce(present.present_candles, 0) as present_candles,
        coalesce(missing.missing_candles, 0) as missing_candles,
        round(
            100.0 * coalesce(present.present_candles, 0)
            / (coalesce(present.present_candles, 0) + coalesce(missing.missing_candles, 0)),
            4
        ) as completeness_pct,
        coalesce(duplicates.duplicate_rows, 0) as duplicate_rows,
        coalesce(present.high_below_open_close, 0) as high_below_open_close,
        coalesce(present.low_above_open_close, 0) as low_above_open_close,
        coalesce(present.negative_volume, 0) as negative_volume,
        coalesce(present.non_positive_price, 0) as non_positive_price,
        coalesce(
            present.high_below_open_close + present.low_above_open_close
            + present.negative_volume + present.non_positive_price,
            0
        ) as anomaly_count,
        present.last_open_time
    from months
    left join present using (symbol, interval, month)
    left join missing using (symbol, interval, month)
    left join duplicates using (symbol, interval, month)

)

select * from final
