"""What the expectation suites check, computed in DuckDB: aggregates, never whole tables.

Row-level rules (keys, OHLC relations, indicator ranges, warm-up nulls) are evaluated by
:func:`rule_violations` in one SQL pass per table, which returns one row per (symbol,
interval) partition with the count of rows breaking each rule; partition-level checks
(candles against the calendar, freshness, silver vs gold) are one row per partition or
year. Only these small frames reach pandas and Great Expectations, so the checkpoint's
memory does not grow with the table. :func:`scope_tables` limits every check to the
partitions a run changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import pandas as pd

from hermes.intervals import interval_table
from hermes.lake import table_exists
from hermes.quality.suites import Rule

INTERVALS_VIEW = "quality_interval_lengths"
DELISTINGS_VIEW = "quality_delistings"
SCOPE_VIEW = "quality_scope"
CHECKED_TABLES = ("silver_klines", "silver_kline_gaps", "gold_features")


def register_intervals(conn: duckdb.DuckDBPyConnection) -> None:
    """Expose the interval lengths to SQL as the view ``quality_interval_lengths``."""
    lengths = pd.DataFrame(
        {"interval": list(interval_table()), "seconds": list(interval_table().values())}
    )
    conn.register(INTERVALS_VIEW, lengths)


def register_delistings(conn: duckdb.DuckDBPyConnection) -> None:
    """Expose the universe's delisted pairs to SQL as ``quality_delistings``."""
    from hermes.universe import delistings

    gone = delistings()
    frame = pd.DataFrame(
        {
            "symbol": pd.Series(list(gone), dtype="object"),
            "delisted_on": pd.to_datetime(pd.Series(list(gone.values()), dtype="object")),
        }
    )
    conn.register(DELISTINGS_VIEW, frame)


SILVER_KLINES_ROWS = """
select
    klines.symbol,
    klines.interval,
    klines.open_time,
    klines.close_time,
    klines.open,
    klines.high,
    klines.low,
    klines.close,
    klines.volume,
    count(*) over candle as key_rows,
    lag(klines.close_time) over series as previous_close_time,
    ((epoch_us(klines.open_time) - epoch_us(lag(klines.open_time) over series)) // 1000000)
    % lengths.seconds as step_remainder_seconds
from silver_klines as klines
left join quality_interval_lengths as lengths on klines.interval = lengths.interval
window
    series as (partition by klines.symbol, klines.interval order by klines.open_time),
    candle as (partition by klines.symbol, klines.interval, klines.open_time)
"""
"""Each silver candle with what its row-level rules read: the candles sharing its key, and
the step from the previous candle of its series."""


def gold_features_rows(columns: Sequence[str]) -> str:
    """Gold feature rows with ``columns`` only (those the rules read), plus ``key_rows``
    and ``bar_index``: bars of its series before it (0-based)."""
    selected = ", ".join(
        _ident(c) for c in dict.fromkeys(["symbol", "interval", "open_time", *columns])
    )
    # column names come from the lake's catalog, quoted as identifiers
    return (
        f"select {selected}, "  # noqa: S608
        "count(*) over (partition by symbol, interval, open_time) as key_rows, "
        "row_number() over (partition by symbol, interval order by open_time) - 1 as bar_index "
        "from gold_features"
    )


@dataclass(frozen=True)
class RuleStats:
    """How one rule fared over the checked partitions."""

    element_count: int
    unexpected_count: int
    examples: list[dict[str, Any]]


QUALITY_MEMORY_LIMIT = "256MB"
"""DuckDB's memory limit during the checkpoint; larger window stages spill to disk."""


def limit_memory(conn: duckdb.DuckDBPyConnection, spill_dir: str) -> None:
    """Cap the checkpoint's DuckDB memory (windows over long series spill to ``spill_dir``)."""
    conn.execute(f"set temp_directory = '{spill_dir.replace(chr(39), chr(39) * 2)}'")
    conn.execute(f"set memory_limit = '{QUALITY_MEMORY_LIMIT}'")
    conn.execute("set preserve_insertion_order = false")


def scope_tables(
    conn: duckdb.DuckDBPyConnection, partitions: Sequence[tuple[str, str]] | None
) -> None:
    """Shadow the checked lake tables with temporary views limited to ``partitions``.

    The suites' SQL names ``silver_klines``, ``silver_kline_gaps`` and ``gold_features``;
    with ``partitions`` given, those names resolve to views over just those (symbol,
    interval) series, so every check reads only the partitions a run changed. ``None``
    checks everything.
    """
    if partitions is None:
        return
    scope = pd.DataFrame(list(partitions), columns=["symbol", "interval"], dtype="object")
    conn.register(SCOPE_VIEW, scope)
    for table in CHECKED_TABLES:
        if not table_exists(conn, table):
            continue
        # the name is one of CHECKED_TABLES, not user input
        conn.execute(
            f"create or replace temp view {table} as "  # noqa: S608
            f"select t.* from lake.main.{table} as t "
            f"semi join {SCOPE_VIEW} using (symbol, interval)"
        )


def rule_violations(
    conn: duckdb.DuckDBPyConnection,
    rows_sql: str,
    rules: Sequence[Rule],
    key: Sequence[str],
    max_examples: int,
) -> tuple[pd.DataFrame, dict[str, RuleStats]]:
    """Evaluate row-level ``rules`` over ``rows_sql`` in DuckDB, one aggregate pass.

    Returns one row per (symbol, interval) partition, with a column per rule holding how
    many of its rows break the rule (what the GX suite expects to be 0), and per rule its
    element and unexpected counts over all partitions plus the first ``max_examples``
    offending rows (key and checked columns), in key order. No row leaves the engine
    except those examples.
    """
    order = ", ".join(key)
    selects = []
    for i, rule in enumerate(rules):
        applies = rule.where or "true"
        broken = f"({applies}) and not coalesce({rule.check}, true)"
        shown = ", ".join(
            f"{_ident(c)} := {_ident(c)}" for c in dict.fromkeys([*key, *rule.columns])
        )
        selects += [
            f"count_if({applies}) as e{i}",
            f"count_if({broken}) as u{i}",
            f"list(struct_pack({shown}) order by {order}) filter (where {broken})"
            f"[1:{int(max_examples)}] as x{i}",
        ]
    sql = (
        f"with checked as ({rows_sql}) "  # noqa: S608 (rules are built by the suites, not users)
        "select symbol, interval, symbol || ' ' || interval as partition, count(*) as rows, "
        + ", ".join(selects)
        + " from checked group by all order by symbol, interval"
    )
    cursor = conn.execute(sql)
    names = [d[0] for d in cursor.description or []]
    table = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    frame = pd.DataFrame(
        {
            "symbol": [r["symbol"] for r in table],
            "interval": [r["interval"] for r in table],
            "partition": [r["partition"] for r in table],
            "rows": pd.Series([r["rows"] for r in table], dtype="int64"),
        }
    )
    stats: dict[str, RuleStats] = {}
    for i, rule in enumerate(rules):
        frame[rule.name] = pd.Series([r[f"u{i}"] for r in table], dtype="int64")
        examples = [example for r in table for example in r[f"x{i}"] or []]
        stats[rule.name] = RuleStats(
            element_count=sum(int(r[f"e{i}"]) for r in table),
            unexpected_count=sum(int(r[f"u{i}"]) for r in table),
            examples=examples[:max_examples],
        )
    return frame, stats


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

    A pair the universe (``seeds/universe.csv``) lists as delisted by ``as_of`` has no row:
    it stops producing candles, and its history is not stale.

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
            -- the whole lake's latest candle, even when only some partitions are checked
            select coalesce(?::timestamp, max(close_time)) as as_of from lake.main.silver_klines
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
        -- a delisted pair leaves the freshness check from its delisting day on
        where not exists (
            select 1 from quality_delistings as gone
            where gone.symbol = latest.symbol and gone.delisted_on <= reference.as_of
        )
        order by latest.symbol, latest.interval
        """,
        [as_of],
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


def _ident(name: str) -> str:
    """A column name as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'
