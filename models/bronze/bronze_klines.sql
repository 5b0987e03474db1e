{{
  config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='source_file',
    partitioned_by=['symbol', 'interval'],
  )
}}
{#- an incremental build reads the new files only (none, or too many: the whole glob) -#}
{%- set new_files = new_decoded_files(this) if is_incremental() else [] %}
{%- set decoded = '[' ~ new_files | join(', ') ~ ']' if new_files else decoded_files_glob() %}

with

manifest as (

    select
        *,
        -- decoded files are recorded relative to the landing root (older lakes: full paths)
        case
            when starts_with(decoded_file, '_decoded/')
                then {{ landing_path('') }} || decoded_file
            else decoded_file
        end as decoded_path
    from {{ source('landing', 'files') }}
    {% if is_incremental() %}
        -- only source files landed (or replaced) since the last build
        where
            {{ landed_since_build(this) }}
        {% if new_files %}
            -- the files read_parquet reads below: one landed after them waits for the next run
            and decoded_path in ({{ new_files | join(', ') }})
        {% endif %}
    {% endif %}

),

decoded as (

    select * from read_parquet({{ decoded }}, filename = true)

),

landed as (

    select
        manifest.provider,
        manifest.market,
        manifest.symbol,
        manifest.interval,
        decoded.line_number,
        decoded.open_time,
        decoded.open,
        decoded.high,
        decoded.low,
        decoded.close,
        decoded.volume,
        decoded.close_time,
        decoded.quote_asset_volume,
        decoded.number_of_trades,
        decoded.taker_buy_base_asset_volume,
        decoded.taker_buy_quote_asset_volume,
        decoded.time_unit,
        manifest.source_file,
        manifest.source_sha256,
        manifest.ingested_at
    from decoded
    -- the join prunes the glob to the manifest's files (dynamic filter on filename)
    inner join manifest on decoded.filename = manifest.decoded_path

)

select * from landed
