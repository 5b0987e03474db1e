-- Fails with every symbol and interval whose candles do not add up: present candles plus
-- reported missing ones must fill the whole span from the first to the last candle, and
-- silver_quality must count the same present and missing candles.

{{ config(severity='error') }}

with

klines as (

    select * from {{ ref('silver_klines') }}

),

gaps as (

    select * from {{ ref('silver_kline_gaps') }}

),

quality as (

    select * from {{ ref('silver_quality') }}

),

spans as (

    select
        symbol,
        interval,
        count(*) as present_candles,
        cast(
            (epoch(max(open_time)) - epoch(min(open_time)))
            / epoch({{ interval_length('interval') }}) as bigint
        ) + 1 as span_candles
    from klines
    group by symbol, interval

),

gap_totals as (

    select
        symbol,
        interval,
        sum(missing_candles) as missing_candles
    from gaps
    group by all

),

quality_totals as (

    select
        symbol,
        interval,
        sum(present_candles) as present_candles,
        sum(missing_candles) as missing_candles,
        sum(expected_candles) as expected_candles
    from quality
    group by all

),

compared as (

    select
        spans.symbol,
        spans.interval,
        spans.span_candles,
        spans.present_candles,
        coalesce(gap_totals.missing_candles, 0) as missing_candles,
        quality_totals.present_candles as quality_present_candles,
        quality_totals.missing_candles as quality_missing_candles,
        quality_totals.expected_candles as quality_expected_candles
    from spans
    left join gap_totals
        on spans.symbol = gap_totals.symbol and spans.interval = gap_totals.interval
    left join quality_totals
        on spans.symbol = quality_totals.symbol and spans.interval = quality_totals.interval

)

select * from compared
where
    span_candles != present_candles + missing_candles
    or quality_present_candles is distinct from present_candles
    or quality_missing_candles is distinct from missing_candles
    or quality_expected_candles is distinct from span_candles
