"""The whole pipeline on each lake target: ingest -> dbt build -> signals -> backtest.

Checked once on a local folder and once on the live local S3 endpoint, so the two targets
cannot drift apart. The session builds that pipeline already (``built_lake``: ingest and
``dbt build`` on a local folder; ``built_s3_lake``: the whole pipeline on S3): this test
checks what those builds returned and stored, and on the local target runs the signals and
backtests on its own copy of the built lake.
"""

from __future__ import annotations

import duckdb
import pytest
from s3.local_s3 import Built

from hermes.backtest.runs import run_backtests
from hermes.config import PROJECT_ROOT, Settings
from hermes.ingest.report import IngestReport
from hermes.lake import connect, current_snapshot
from hermes.signals.run import generate_signals

DATA = PROJECT_ROOT / "data" / "binance-ohlcv"
# Rows of the bundled files (one candle a line): 1d and 4h, the same for both symbols.
ROWS = {"1d": 3065, "4h": 18371}


def _scalar(conn: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> object:
    row = conn.execute(sql, params or []).fetchone()
    assert row is not None
    return row[0]


@pytest.fixture(params=["local", "s3"])
def pipeline(request: pytest.FixtureRequest) -> tuple[Settings, Built]:
    """The bundled data through the whole pipeline on each target, and what each step returned.

    Local: ``built_lake``'s ingest and ``dbt build``, then signals and backtests on a copy of
    it (``built_lake_copy``); S3: ``built_s3_lake``, built the same way.
    """
    if request.param == "s3":
        return request.getfixturevalue("built_s3_build")
    built: tuple[Settings, IngestReport] = request.getfixturevalue("built_lake_build")
    lake = request.getfixturevalue("built_lake_copy")
    summaries = generate_signals(lake, "smart_momentum")
    return lake, Built(built[1], summaries, run_backtests(lake, "smart_momentum"))


def test_ingest_build_signals_backtest(pipeline: tuple[Settings, Built]) -> None:
    lake_target, built = pipeline
    summaries, run_ids = built.summaries, built.run_ids
    assert sorted((r.source, r.rows) for r in built.report.results) == [
        (f"csv/{symbol}/{interval}/{symbol}_{interval}.csv.gz", ROWS[interval])
        for symbol in ("BTCUSDT", "ETHUSDT")
        for interval in ("1d", "4h")
    ]

    conn = connect(lake_target)
    try:
        silver = conn.execute(
            "select symbol, interval, count(*) from silver_klines group by all order by all"
        ).fetchall()
        assert silver == [
            (symbol, interval, ROWS[interval])
            for symbol in ("BTCUSDT", "ETHUSDT")
            for interval in ("1d", "4h")
        ]
        # One signal row per feature row, and the counts the run reported are the stored ones.
        assert len(summaries) == 4
        for s in summaries:
            assert s.rows == ROWS[s.interval]
            stored = conn.execute(
                "select count(*), count(*) filter (buy_signal), count(*) filter (sell_signal) "
                "from gold_strategy_signals where symbol = ? and interval = ?",
                [s.symbol, s.interval],
            ).fetchone()
            assert stored == (s.rows, s.buy_signals, s.sell_signals)
        # One backtest run per series, reading the snapshot the signals were written in.
        assert len(run_ids) == 4
        runs = conn.execute(
            "select run_id, rows, snapshot_id, final_equity from gold_backtest_runs "
            "order by symbol, interval"
        ).fetchall()
        assert sorted(r[0] for r in runs) == sorted(run_ids)
        assert [r[1] for r in runs] == [ROWS["1d"], ROWS["4h"], ROWS["1d"], ROWS["4h"]]
        assert all(r[2] <= current_snapshot(conn) for r in runs)
        for run_id, rows, _, final_equity in runs:
            equity = conn.execute(
                "select count(*), arg_max(equity, open_time) from gold_backtest_equity "
                "where run_id = ?",
                [run_id],
            ).fetchone()
            assert equity == (rows, final_equity)
        # Every table's data files sit on the target's storage.
        tables = conn.execute(
            "select schema_name, table_name from duckdb_tables() where database_name = 'lake'"
        ).fetchall()
        files = [
            path
            for schema, table in tables
            for (path,) in conn.execute(
                "select data_file from ducklake_list_files('lake', ?, schema => ?)",
                [table, schema],
            ).fetchall()
        ]
    finally:
        conn.close()
    assert files
    assert all(path.startswith(lake_target.data_path) for path in files)
