{{
  config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['symbol', 'interval', 'open_time'],
    partitioned_by=['symbol', 'interval', 'year(open_time)'],
    post_hook=[
        "{{ delete_superseded_candles(this, ref('bronze_klines')) if is_incremental() }}"
    ],
  )
}}

with

bronze as (

    select * from {{ ref('bronze_klines') }}

),

{% if is_incremental() %}

    changed as (

        -- rows of the source files landed (or replaced) since the last build
        select * from bronze
        where {{ landed_since_build(this) }}

    ),

    affected_keys as (

        -- candles the changed files carry now, and candles their previous version carried
        select distinct
            symbol,
            interval,
            {{ epoch_to_timestamp('open_time', 'time_unit') }} as open_time
        from changed
        union
        select
            built.symbol,
            built.interval,
            built.open_time
        from {{ this }} as built
        where built.source_file in (select changed.source_file from changed)

    ),

    affected_series as (

        select distinct
            symbol,
            interval
        from affected_keys

    ),

{% endif %}

candidates as (

    select bronze.*
    from bronze
    {% if is_incremental() %}
        semi join affected_series using (symbol, interval)
    {% endif %}

),

typed as (

    select
        provider,
        market,
        symbol,
        interval,
        {{ epoch_to_timestamp('open_time', 'time_unit') }} as open_time,
        -- millisecond resolution whatever the archive's unit, so ms and us files agree
        date_trunc(
            'millisecond',
            coalesce(
                {{ epoch_to_timestamp('close_time', 'time_unit') }},
                {{ epoch_to_timestamp('open_time', 'time_unit') }}
                + {{ interval_length('interval') }} - to_milliseconds(1)
            )
        ) as close_time,
        open::double as open,
        high::double as high,
        low::double as low,
        close::double as close,
        volume::double as volume,
        quote_asset_volume::double as quote_asset_volume,
        number_of_trades::bigint as number_of_trades,
        taker_buy_base_asset_volume::double as taker_buy_base_asset_volume,
        taker_buy_quote_asset_volume::double as taker_buy_quote_asset_volume,
        source_file,
        source_sha256,
        ingested_at,
        line_number
    from candidates

),

in_scope as (

    select typed.*
    from typed
    {% if is_incremental() %}
        semi join affected_keys using (symbol, interval, open_time)
    {% endif %}

),

latest as (

    -- one row per candle: an archive before a provisional API candle, then the latest ingest
    select * exclude (line_number)
    from in_scope
    qualify row_number() over (
        partition by symbol, interval, open_time
        order by provider = 'api', ingested_at desc, source_file desc, line_number desc
    ) = 1

),

flagged as (

    select
        *,
        high >= greatest(open, close) as is_high_valid,
        low <= least(open, close) as is_low_valid,
        volume >= 0 as is_volume_valid,
        least(open, high, low, close) > 0 as is_price_positive,
        (
            high >= greatest(open, close)
            and low <= least(open, close)
            and volume >= 0
            and least(open, high, low, close) > 0
        ) as is_valid
    from latest

)

select * from flagged
