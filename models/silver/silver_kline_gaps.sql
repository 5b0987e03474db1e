with

klines as (

    select
        symbol,
        interval,
        open_time
    from {{ ref('silver_klines') }}

),

steps as (

    select
        symbol,
        interval,
        open_time,
        lead(open_time) over (partition by symbol, interval order by open_time) as next_open_time,
        {{ interval_length('interval') }} as step
    from klines

),

gaps as (

    select
        symbol,
        interval,
        open_time + step as gap_start,
        next_open_time - step as gap_end,
        open_time as last_open_time_before,
        next_open_time as first_open_time_after,
        cast(
            (epoch(next_open_time) - epoch(open_time)) / epoch(step) as bigint
        ) - 1 as missing_candles
    from steps
    where next_open_time > open_time + step

)

select * from gaps
