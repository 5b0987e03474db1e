"""Read what the expectation suites check from the lake, as pandas frames (DuckDB SQL).

Each function returns one frame, named after the suite that checks it. Derived columns
(steps between candles, expected candles per partition, lag of the latest candle) are
computed here, in SQL, so the suites only state expectations.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache

import duckdb
import pandas as pd
import yaml

from hermes.config import PROJECT_ROOT

INTERVALS_VIEW = "quality_interval_lengths"


@cache
def project_intervals() -> dict[str, int]:
    """Candle intervals the lake accepts (code -> seconds): the ``intervals`` dbt var."""
    project = yaml.safe_load((PROJECT_ROOT / "dbt_project.yml").read_text())
    return {str(code): int(seconds) for code, seconds in project["vars"]["intervals"].items()}


def register_intervals(conn: duckdb.DuckDBPyConnection) -> None:
    """Expose the interval lengths to SQL as the view ``quality_interval_lengths``."""
    lengths = pd.DataFrame(
        {"interval": list(project_intervals()), "seconds": list(project_intervals().values())}
    )
    conn.register(INTERVALS_VIEW, lengths)


def silver_klines_frame(conn: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per silver candle, with the step from the previous candle of its series."""
    return conn.execute(
        """
        with

        klines as (
            select symbol, interval, open_time, close_time, open, high, low, close, volume
            from silver_klines
        ),

        stepped as (
            select
                klines.*,
                lengths.seconds as interval_seconds,
                lag(klines.close_time) over series as previous_close_time,
                (epoch_us(klines.open_time) - epoch_us(lag(klines.open_time) over series))
                // 1000000 as step_seconds
            from klines
            left join quality_interval_lengths as lengths on klines.interval = lengths.interval
            window series as (partition by klines.symbol, klines.interval order by klines.open_time)
        )

        select
            *,
            step_seconds % interval_seconds as step_remainder_seconds
        from stepped
        order by symbol, interval, open_time
        """
    ).df()


def silver_partitions_frame(conn: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per (symbol, interval, year): candles expected by the calendar between the
    series' first and last candle, candles present, and missing candles reported as gaps."""
    return conn.execute(
        """
        with

        klines as (
            select symbol, interval, open_time from silver_klines
        ),

        gaps as (
            select * from silver_kline_gaps
        ),

        series as (
            select
                klines.symbol,
                klines.interval,
                epoch_us(min(klines.open_time)) as first_us,
                epoch_us(max(klines.open_time)) as last_us,
                any_value(lengths.seconds) * 1000000 as step_us
            from klines
            inner join quality_interval_lengths as lengths on klines.interval = lengths.interval
            group by all
        ),

        present as (
            select symbol, interval, year(open_time) as year, count(*) as present_candles
            from klines
            group by all
        ),

        missing_slots as (
            select
                gaps.symbol,
                gaps.interval,
                unnest(
                    generate_series(gaps.gap_start, gaps.gap_end, to_seconds(lengths.seconds))
                ) as open_time
            from gaps
            inner join quality_interval_lengths as lengths on gaps.interval = lengths.interval
        ),

        missing as (
            select symbol, interval, year(open_time) as year, count(*) as missing_candles
            from missing_slots
            group by all
        ),

        years as (
            -- a year inside a long outage has missing candles and no present ones
            select symbol, interval, year from present
            union
            select symbol, interval, year from missing
        ),

        slots as (
            select
                years.symbol,
                years.interval,
                years.year,
                coalesce(present.present_candles, 0) as present_candles,
                series.step_us,
                greatest(
                    epoch_us(make_timestamp(years.year, 1, 1, 0, 0, 0)), series.first_us
                ) - series.first_us as from_us,
                least(
                    epoch_us(make_timestamp(years.year + 1, 1, 1, 0, 0, 0)) - 1, series.last_us
                ) - series.first_us as to_us
            from years
            inner join series using (symbol, interval)
            left join present using (symbol, interval, year)
        )

        select
            slots.symbol,
            slots.interval,
            slots.year,
            slots.symbol || ' ' || slots.interval || ' ' || slots.year as partition,
            to_us // step_us - (from_us + step_us - 1) // step_us + 1 as expected_candles,
            slots.present_candles,
            coalesce(missing.missing_candles, 0) as missing_candles,
            slots.present_candles + coalesce(missing.missing_candles, 0) as accounted_candles,
            slots.present_candles / (to_us // step_us - (from_us + step_us - 1) // step_us + 1)
            as completeness
        from slots
        left join missing using (symbol, interval, year)
        order by slots.symbol, slots.interval, slots.year
        """
    ).df()


def freshness_frame(conn: duckdb.DuckDBPyConnection, as_of: datetime | None = None) -> pd.DataFrame:
    """One row per (symbol, interval): its latest candle and how many hours it lags.

    The lag is measured against ``as_of`` (naive UTC), or by default against the latest
    candle close of the whole lake, so a series left behind by the others shows up even
    when the lake as a whole is not refreshed (bundled data).
    """
    return conn.execute(
        """
        with

        latest as (
            select symbol, interval, max(close_time) as last_close_time
            from silver_klines
            group by all
        ),

        reference as (
            select coalesce(?::timestamp, max(last_close_time)) as as_of from latest
        )

        select
            latest.symbol,
            latest.interval,
            latest.symbol || ' ' || latest.interval as partition,
            latest.last_close_time,
            reference.as_of,
            (epoch_us(reference.as_of) - epoch_us(latest.last_close_time)) / 3600e6 as lag_hours
        from latest
        cross join reference
        order by latest.symbol, latest.interval
        """,
        [as_of],
    ).df()


def gold_features_frame(conn: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every gold feature row, with ``bar_index``: bars of its series before it (0-based)."""
    return conn.execute(
        """
        select
            *,
            row_number() over (partition by symbol, interval order by open_time) - 1 as bar_index
        from gold_features
        order by symbol, interval, open_time
        """
    ).df()


def gold_partitions_frame(conn: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per (symbol, interval) of silver or gold: its candles and latest candle in
    silver_klines and in gold_features, which must agree (gold derives from every candle)."""
    return conn.execute(
        """
        with

        silver as (
            select symbol, interval, count(*) as silver_rows, max(open_time) as silver_last
            from silver_klines
            group by all
        ),

        gold as (
            select symbol, interval, count(*) as gold_rows, max(open_time) as gold_last
            from gold_features
            group by all
        )

        select
            symbol,
            interval,
            symbol || ' ' || interval as partition,
            coalesce(silver.silver_rows, 0) as silver_rows,
            coalesce(gold.gold_rows, 0) as gold_rows,
            silver.silver_last,
            gold.gold_last
        from silver
        full join gold using (symbol, interval)
        order by symbol, interval
        """
    ).df()
