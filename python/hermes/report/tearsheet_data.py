"""What tearsheets read from the lake, for batches of runs through one shared connection.

Opening a lake connection (extensions, catalog, the published view) costs more than reading
one run, and a daily run writes a page per changed series: :func:`read_batches` reads every
batch of runs on one connection, a batch's rows first, then the strategies' indicator lines
with the connection moved to each snapshot the runs were made at (the daily runs share one;
:func:`hermes.lake.as_of`). Each run's bootstrap intervals and PSR are read as the
statistics step stored them (``gold_backtest_overfitting``) rather than resampled again; a
run without stored statistics (``hermes report`` on a run made outside the daily job) gets
them computed as the statistics step computes them.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from hermes.backtest.equity import equity_query
from hermes.backtest.runs import load_run
from hermes.config import Settings
from hermes.intervals import interval_seconds
from hermes.lake import DataError, as_of, connect, identifier, table_columns, table_exists
from hermes.signals.errors import StrategyError
from hermes.signals.models import SignalModel, open_model
from hermes.signals.registry import load_strategy
from hermes.stats import metrics
from hermes.stats.study import statistics_record, study_statistics

STORED = (
    "select * from gold_backtest_overfitting where study_kind = 'run' "
    "and list_contains(?, study_id) "
    "qualify row_number() over (partition by study_id order by created_at desc) = 1"
)
"""The latest stored statistics row of each of a list of runs."""
BATCH = 64
"""Runs read at once: their equity curves are held in memory until their pages are written
(64 runs of 13,000 4h bars: about 100 MB)."""

Lines = tuple[dict[str, np.ndarray], dict[str, np.ndarray], str | None]
"""(price-scale overlays, separate panels, a note if they could not be read)."""


@dataclass
class RunData:
    """One run as its page reads it."""

    run: dict[str, Any]
    equity: pd.DataFrame
    trades: pd.DataFrame
    statistics: dict[str, Any] | None
    """The stored statistics row, or None."""
    lines: Lines = ({}, {}, None)

    def statistics_row(self, returns: np.ndarray) -> dict[str, Any]:
        """The run's statistics row: as stored, else computed from its bar ``returns``."""
        if self.statistics is not None:
            return self.statistics
        run = self.run
        periods = metrics.SECONDS_PER_YEAR / interval_seconds(run["interval"])
        stats = study_statistics(returns, 0, periods)
        when = datetime.now(UTC).replace(tzinfo=None)
        return statistics_record(
            "run", run["run_id"], run["symbol"], run["interval"], None, stats, when
        )


def batches(run_ids: Sequence[str], size: int = BATCH) -> list[list[str]]:
    return [list(run_ids[k : k + size]) for k in range(0, len(run_ids), size)]


def read_run(conn: duckdb.DuckDBPyConnection, run_id: str) -> RunData:
    """The run's row, its equity rows (by time) and its trades (by trade id)."""
    (data,) = read_rows(conn, [run_id])
    return data


def _placeholders(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in values)


def _by_run(frame: pd.DataFrame, run_ids: Sequence[str]) -> dict[str, pd.DataFrame]:
    """A frame of several runs' rows (ordered within each run) split per run."""
    empty = frame.iloc[:0]
    parts = {str(k): g.reset_index(drop=True) for k, g in frame.groupby("run_id", sort=False)}
    return {run_id: parts.get(run_id, empty.reset_index(drop=True)) for run_id in run_ids}


def read_rows(conn: duckdb.DuckDBPyConnection, run_ids: Sequence[str]) -> list[RunData]:
    """The rows, equity (by time) and trades (by trade id) of ``run_ids``: one query per
    table, an ``in`` list of run ids (which DuckDB prunes parquet files with).
    ``LookupError`` naming the first run the lake does not hold."""
    ids = list(dict.fromkeys(run_ids))
    if not ids:
        return []
    if not table_exists(conn, "gold_backtest_runs"):
        load_run(conn, ids[0])  # raises the lake's "no backtest yet"
    where = f"where run_id in ({_placeholders(ids)})"
    cursor = conn.execute(f"select * from gold_backtest_runs {where}", ids)  # noqa: S608
    columns = [d[0] for d in cursor.description or []]
    records = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    runs = {record["run_id"]: record for record in records}
    for run_id in ids:
        if run_id not in runs:
            load_run(conn, run_id)  # raises "no backtest run ... in the lake"
    whole, params = equity_query(conn, ids)
    order = "order by run_id, open_time"
    equity = conn.execute(f"select * from ({whole}) as e {order}", params).df()  # noqa: S608
    order = "order by run_id, trade_id"
    trades = conn.execute(f"select * from gold_backtest_trades {where} {order}", ids).df()  # noqa: S608
    curves, fills = _by_run(equity, ids), _by_run(trades, ids)
    return [RunData(runs[r], curves[r], fills[r], None) for r in run_ids]


def stored_statistics(
    conn: duckdb.DuckDBPyConnection, run_ids: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """run id -> its latest stored statistics row (NULLs as None), for those that have one."""
    if not run_ids or not table_exists(conn, "gold_backtest_overfitting"):
        return {}
    frame = conn.execute(STORED, [list(run_ids)]).df()
    return {
        str(record["study_id"]): {k: None if _missing(v) else v for k, v in record.items()}
        for record in frame.to_dict("records")
    }


def _missing(value: Any) -> bool:
    return value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def read_batches(settings: Settings, run_ids: Sequence[str]) -> Iterator[RunData]:
    """Every page's data of ``run_ids``, read :data:`BATCH` runs at a time on one connection
    (open until the last batch has been handed out)."""
    with connect(settings) as conn:
        for batch in batches(run_ids):
            yield from read_batch(conn, settings, batch)


def read_batch(
    conn: duckdb.DuckDBPyConnection, settings: Settings, run_ids: Sequence[str]
) -> list[RunData]:
    """The data of one batch of runs on ``conn`` (a :func:`connect` connection on the working
    state), moved to each run's snapshot in turn for the indicator lines."""
    stored = stored_statistics(conn, run_ids)
    runs = read_rows(conn, run_ids)
    for data in runs:
        data.statistics = stored.get(data.run["run_id"])
    by_snapshot: dict[int, list[RunData]] = defaultdict(list)
    for data in runs:
        if "," not in str(data.run["symbol"]):  # a portfolio has no single price panel
            by_snapshot[int(data.run["snapshot_id"])].append(data)
    for snapshot, group in sorted(by_snapshot.items()):
        try:
            with as_of(conn, settings, snapshot) as reader:
                for data, lines in zip(group, snapshot_lines(reader, group), strict=True):
                    data.lines = lines
        except (DataError, duckdb.Error) as exc:
            for data in group:
                data.lines = ({}, {}, f"indicator lines not shown: {exc}")
    return runs


def snapshot_lines(conn: duckdb.DuckDBPyConnection, group: list[RunData]) -> list[Lines]:
    """The indicator lines of runs made at the snapshot ``conn`` reads: each strategy's
    model opened once, its rows of every series of ``group`` read in one query."""
    out: list[Lines] = []
    models: dict[str, SignalModel | Exception] = {}
    rows: dict[str, dict[tuple[str, str], pd.DataFrame]] = {}
    for data in group:
        strategy_id = data.run["strategy_id"]
        if strategy_id not in models:
            try:
                opened = open_model(conn, load_strategy(strategy_id, conn=conn))
                series = [d.run for d in group if d.run["strategy_id"] == strategy_id]
                rows[strategy_id] = _by_series(_signal_rows(conn, opened, series))
                models[strategy_id] = opened
            except (DataError, StrategyError, duckdb.Error) as exc:
                models[strategy_id] = exc
        model = models[strategy_id]
        if isinstance(model, Exception):
            out.append(({}, {}, f"indicator lines not shown: {model}"))
            continue
        times = data.equity["open_time"].to_numpy()
        key = (str(data.run["symbol"]), str(data.run["interval"]))
        mine = rows[strategy_id].get(key, _NO_ROWS)
        out.append(indicator_series(model, mine, data.run, times))
    return out


_NO_ROWS = pd.DataFrame({"open_time": pd.Series([], dtype="datetime64[us]")})


def _by_series(rows: pd.DataFrame) -> dict[tuple[str, str], pd.DataFrame]:
    """A model's rows split per (symbol, interval), each in the order read (by time): each
    run then filters its own series' rows, not every series' of its batch."""
    return {(str(s), str(i)): g for (s, i), g in rows.groupby(["symbol", "interval"], sort=False)}


def indicator_series(
    model: SignalModel, rows: pd.DataFrame, run: dict[str, Any], times: np.ndarray
) -> Lines:
    """The run's indicator lines from its model's ``rows`` of the run's series (at the
    run's snapshot).

    They are the signal model's numeric columns (:func:`hermes.signals.models.open_model`)
    when the table was built with the run's parameters and holds rows in the run's period.
    """
    mine = rows[rows["open_time"].between(run["first_open_time"], run["last_open_time"])]
    if model.built_parameters != json.loads(run["parameters"]) or mine.empty:
        return (
            {},
            {},
            (
                f"indicator lines not shown: {model.table} holds no row for this run's "
                f"parameters at snapshot {run['snapshot_id']}"
            ),
        )
    aligned = mine.set_index("open_time").reindex(pd.DatetimeIndex(times))
    close = aligned["close"].to_numpy(dtype=float) if "close" in aligned else None
    overlays, panels = {}, {}
    for name in model.values:
        values = aligned[name].to_numpy(dtype=float)
        if close is not None and _price_scale(values, close):
            overlays[name] = values
        else:
            panels[name] = values
    return overlays, panels, None


def _price_scale(values: np.ndarray, close: np.ndarray) -> bool:
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.nanmedian(np.abs(values / close))
    return bool(0.5 < ratio < 2)


def _signal_rows(
    conn: duckdb.DuckDBPyConnection, model: SignalModel, runs: list[dict[str, Any]]
) -> pd.DataFrame:
    """The model's close and numeric columns on the symbols and intervals of ``runs``."""
    close = ["close"] if "close" in table_columns(conn, model.table) else []
    columns = ["symbol", "interval", "open_time", *close, *model.values]
    selected = ", ".join(identifier(c) for c in columns)
    symbols = sorted({str(r["symbol"]) for r in runs})
    intervals = sorted({str(r["interval"]) for r in runs})
    return conn.execute(  # validated identifiers, bound values
        f"select {selected} from {identifier(model.table)} "  # noqa: S608
        f"where symbol in ({_placeholders(symbols)}) "
        f"and interval in ({_placeholders(intervals)}) order by symbol, interval, open_time",
        [*symbols, *intervals],
    ).df()
