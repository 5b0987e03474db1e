{#-
  Candles landed first from the exchange's market-data API (`hermes live`, provider `api`,
  provisional) and then from an archive of that day, where the two differ: the archive is
  what silver_klines keeps, and every difference is listed here (a data-quality event,
  never a silent replacement). Read from bronze, where both versions stay.
-#}
with

bronze as (

    select * from {{ ref('bronze_klines') }}

),

typed as (

    select
        provider,
        symbol,
        interval,
        {{ epoch_to_timestamp('open_time', 'time_unit') }} as open_time,
        open::double as open,
        high::double as high,
        low::double as low,
        close::double as close,
        volume::double as volume,
        source_file,
        ingested_at
    from bronze

),

api as (

    select * from typed
    where provider = 'api'

),

archive as (

    -- only the candles the API also gave (the latest archive version of each: the window
    -- partitions by candle, so keeping whole candles keeps the same rows)
    select typed.*
    from typed
    semi join api using (symbol, interval, open_time)
    where typed.provider != 'api'
    qualify row_number() over (
        partition by typed.symbol, typed.interval, typed.open_time
        order by typed.ingested_at desc, typed.source_file desc
    ) = 1

),

revised as (

    select
        api.symbol,
        api.interval,
        api.open_time,
        api.source_file as api_source_file,
        archive.source_file as archive_source_file,
        api.open as api_open,
        archive.open as archive_open,
        api.high as api_high,
        archive.high as archive_high,
        api.low as api_low,
        archive.low as archive_low,
        api.close as api_close,
        archive.close as archive_close,
        api.volume as api_volume,
        archive.volume as archive_volume,
        archive.ingested_at as revised_at
    from api
    inner join archive using (symbol, interval, open_time)
    where
        api.open is distinct from archive.open
        or api.high is distinct from archive.high
        or api.low is distinct from archive.low
        or api.close is distinct from archive.close
        or api.volume is distinct from archive.volume

)

select * from revised
