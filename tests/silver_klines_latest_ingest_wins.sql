-- Fails with every silver candle for which bronze holds a later ingest of the same candle:
-- silver must keep the row of the latest ingest (of an archive, when one holds the candle: a
-- provisional candle of the market-data API, provider 'api', never wins over an archive).

{{ config(severity='error') }}

with

bronze as (

    select * from {{ ref('bronze_klines') }}

),

klines as (

    select * from {{ ref('silver_klines') }}

),

bronze_latest as (

    select
        symbol,
        interval,
        {{ epoch_to_timestamp('open_time', 'time_unit') }} as open_time,
        coalesce(
            max(ingested_at) filter (where provider != 'api'), max(ingested_at)
        ) as latest_ingested_at
    from bronze
    group by all

),

stale as (

    select
        klines.symbol,
        klines.interval,
        klines.open_time,
        klines.ingested_at,
        bronze_latest.latest_ingested_at
    from klines
    inner join bronze_latest
        on
            klines.symbol = bronze_latest.symbol
            and klines.interval = bronze_latest.interval
            and klines.open_time = bronze_latest.open_time
    where klines.ingested_at < bronze_latest.latest_ingested_at

)

select * from stale
