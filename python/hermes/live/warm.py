"""The warm series of the live process, and the batch's own definitions evaluated on them.

Everything lives in one in-memory DuckDB database attached as ``lake`` (the name dbt's
compiled SQL uses), filled once from the lake (:mod:`hermes.live.sources`), so the batch's
SQL runs here unchanged:

* ``live_klines``: the series' candles (the lake's ``silver_klines`` rows, then the API's);
* ``live_recursive``: ``gold_recursive_indicators`` rows; a new bar's EMA, RSI, ATR,
  SuperTrend and MACD are **resumed** from the stored state of the series' last row with the
  numba kernels the dbt model uses (:mod:`hermes.indicators.recursive_features`);
* ``live_features``: ``gold_features`` rows; the window indicators of a changed series are
  computed by the **compiled SQL of the dbt model** ``gold_features`` (full-build variant)
  over their look-back, frame by frame as the batch evaluates them (exact: see
  :data:`hermes.lake.WINDOW_MODE`);
* ``gold_signals_<id>``: each live strategy's signal model, its compiled SQL as recorded by
  the build in ``hermes_signal_models`` (one definition per rule, as grids use it);
* ``live_ml_predictions`` (seen as ``gold_ml_predictions``), with an active ML strategy: the
  lake's walk-forward predictions, then each new bar's, predicted with the recorded model
  of its block (:mod:`hermes.live.ml`) before the signal models run.

The views ``silver_klines``, ``gold_recursive_indicators``, ``gold_features`` and
``gold_feature_store`` show only the series changed by the current step (``live_changed``),
so one step computes only what changed, and the feed and ledger code of
:mod:`hermes.paper` reads this database exactly as it reads the lake.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pyarrow as pa

from hermes.indicators.recursive_features import compute, is_resumable, resume
from hermes.lake import exact_windows, identifier
from hermes.live.client import Candle
from hermes.live.klines import INSERT_KLINES, kline_rows
from hermes.live.memory import release_free_memory
from hermes.live.sources import (
    ML_FEATURES,
    SeriesKey,
    Sources,
    feature_vars,
    is_rule,
    largest_integer,
    reads_predictions,
    recursive_params,
    registry_of,
)
from hermes.signals.models import SIGNAL_MODELS_TABLE
from hermes.signals.registry import Strategy

if TYPE_CHECKING:
    from hermes.live.ml import LiveMl


class WarmLake:
    """The in-memory database of the live path (one per process, single-threaded)."""

    def __init__(self, sources: Sources) -> None:
        self.params = recursive_params()
        self.sql = sources.features_sql
        self.snapshot = sources.snapshot
        # one thread: the queries are small, and the process stays lean next to the batch
        self.conn = duckdb.connect(config={"threads": 1})
        exact_windows(self.conn)
        # compressed in memory (lossless): the warm tables take a third less of the process
        self.conn.execute("attach ':memory:' as lake (compress)")
        self.conn.execute("use lake")
        c = self.conn
        for name, table in (
            ("live_klines", sources.klines),
            ("live_recursive", sources.recursive),
            ("strategies", sources.strategies),
            (SIGNAL_MODELS_TABLE, sources.signal_models),
        ):
            c.register("live_source", table)
            c.execute(f"create table {name} as select * from live_source")  # noqa: S608 (constants)
            c.unregister("live_source")
        c.execute(
            "create table live_changed (symbol varchar, interval varchar, since timestamp, "
            "first_new timestamp)"
        )
        for view, table in (
            ("silver_klines", "live_klines"),
            ("gold_recursive_indicators", "live_recursive"),
        ):
            c.execute(f"create view {view} as {_tail(table)}")
        features = self.sql["gold_features"]  # dbt's compiled SQL of the model
        c.execute(f"create table live_features as select * from ({features}) limit 0")  # noqa: S608
        c.execute(f"create view gold_features as {_tail('live_features')}")
        c.execute(f"create view gold_feature_store as {self.sql['gold_feature_store']}")
        self.strategies = self._live_strategies(sources)
        self.ml: LiveMl | None = None
        """The ML strategies' predictions (None: no active ML strategy)."""
        if self._ml_ids:
            from hermes.live.ml import LIVE_TABLE, LiveMl

            assert sources.ml is not None  # _live_strategies keeps ML strategies only then
            self.ml = LiveMl(c, sources.ml, self.sql[ML_FEATURES], self._ml_ids)
            c.execute(f"create view gold_ml_predictions as {_tail(LIVE_TABLE)}")
        self._types: dict[str, pa.DataType] | None = None
        self._last_rows: dict[SeriesKey, dict[str, Any]] = {}
        """Each series' last recursive row, kept after a resume (the next one starts there)."""
        for strategy_id, sql in self._signal_sql.items():
            table = identifier(f"gold_signals_{strategy_id}")
            c.execute(f"create table {table} as select * from ({sql}) limit 0")  # noqa: S608
        self.feature_lookback = largest_integer(feature_vars()) + 2
        windows = [largest_integer(s.parameters) for s in self.strategies]
        if self.ml is not None:  # the ML signal model averages its last ml_horizon predictions
            windows.append(self.ml.config.horizon)
        self.signal_lookback = max(windows, default=0) + 2
        self.recompute({key: None for key in self.series()})
        held = c.execute(
            "select symbol, interval, epoch_ms(max(open_time)) from live_klines group by all"
        ).fetchall()
        self._last_open: dict[SeriesKey, int] = {(str(s), str(i)): int(t) for s, i, t in held}
        """Each series' last open time (epoch ms), kept as candles are appended."""

    # -- what the warm path holds

    def series(self) -> list[SeriesKey]:
        rows = self.conn.execute("select distinct symbol, interval from live_klines order by all")
        return [(str(s), str(i)) for s, i in rows.fetchall()]

    def last_open_ms(self, key: SeriesKey) -> int | None:
        """The open time (epoch ms) of the series' last candle held, or None."""
        return self._last_open.get(key)

    def _live_strategies(self, sources: Sources) -> list[Strategy]:
        """Active strategies whose signal model is a rule over the feature store, and those
        reading the ML predictions when the sources hold them (the others are left out of
        the live path and dropped from its registry)."""
        query = f"select strategy_id, compiled_sql from {SIGNAL_MODELS_TABLE}"  # noqa: S608
        recorded = dict(self.conn.execute(query).fetchall())
        with_ml = sources.ml is not None and ML_FEATURES in self.sql
        active = [
            s
            for s in registry_of(sources.strategies)
            if s.status == "active" and s.strategy_id in recorded
        ]
        keep = [s for s in active if is_rule(recorded[s.strategy_id])]
        self._ml_ids = [
            s.strategy_id for s in active if with_ml and reads_predictions(recorded[s.strategy_id])
        ]
        keep += [s for s in active if s.strategy_id in self._ml_ids]
        ids = [s.strategy_id for s in keep]
        self.conn.execute("delete from strategies where not list_contains(?, strategy_id)", [ids])
        self._signal_sql = {s.strategy_id: recorded[s.strategy_id] for s in keep}
        return keep

    def ml_held(self, strategy_id: str, key: SeriesKey) -> bool:
        """Whether the series is held back from this ML strategy (:mod:`hermes.live.ml`)."""
        return self.ml is not None and strategy_id in self._ml_ids and key in self.ml.held

    def take_alerts(self) -> list[tuple[SeriesKey, str]]:
        """The alerts of the computation since the last call (series whose ML is held back)."""
        return self.ml.take_alerts() if self.ml is not None else []

    # -- one step

    def append(self, key: SeriesKey, candles: list[Candle], ingested_at: Any) -> None:
        """Add a series' new closed candles and resume its recursive indicators on them."""
        self.append_many([(key, candles)], ingested_at)

    def append_many(self, items: list[tuple[SeriesKey, list[Candle]]], ingested_at: Any) -> None:
        """:meth:`append` for several series at once: one insert of all their candles, then
        one of all their resumed indicator rows."""
        items = [(key, candles) for key, candles in items if candles]
        if not items:
            return
        rows = kline_rows(items, ingested_at)
        for key, candles in items:
            self._last_open[key] = max(self._last_open.get(key, 0), *(x.open_time for x in candles))
        self._insert(INSERT_KLINES, rows)
        self._load_last_rows([key for key, _ in items])
        resumed, offset = [], 0
        for key, candles in items:
            resumed.append(self._resume(key, rows.slice(offset, len(candles))))
            offset += len(candles)
        table = self._recursive_table(resumed)
        self._insert("insert into live_recursive by name select * from live_new", table)
        ends = np.cumsum([n for _, n, _ in resumed]) - 1
        for (key, _, _), row in zip(resumed, table.take(ends).to_pylist(), strict=True):
            self._last_rows[key] = {n: (np.nan if v is None else v) for n, v in row.items()}

    def _insert(self, sql: str, table: pa.Table) -> None:
        self.conn.register("live_new", table)
        try:
            self.conn.execute(sql)
        finally:
            self.conn.unregister("live_new")

    def _resume(self, key: SeriesKey, new: pa.Table) -> tuple[SeriesKey, int, dict[str, Any]]:
        """The series' recursive indicator columns of its ``new`` candles, resumed from its
        last state (all its rows again, the old ones deleted, when that state cannot resume):
        (series, rows, columns)."""
        last = self._last_rows.get(key)
        if last is None or not is_resumable(last, self.params):
            self.conn.execute(
                "delete from live_recursive where symbol = ? and interval = ?", list(key)
            )
            bars = self.conn.execute(
                "select open_time, close_time, ingested_at, high, low, close from live_klines "
                "where symbol = ? and interval = ? order by open_time",
                list(key),
            ).to_arrow_table()
            warmup = np.arange(bars.num_rows, dtype=np.int64)
            values = compute(*_hlc(bars), self.params)
        else:
            bars = new.select(["open_time", "close_time", "ingested_at", "high", "low", "close"])
            warmup = int(last["warmup_bars"]) + 1 + np.arange(bars.num_rows, dtype=np.int64)
            values = resume(*_hlc(bars), self.params, last)
        columns = {n: bars.column(n) for n in ("open_time", "close_time", "ingested_at", "close")}
        return key, bars.num_rows, {**columns, "warmup_bars": warmup, **values}

    def _recursive_table(self, resumed: list[tuple[SeriesKey, int, dict[str, Any]]]) -> pa.Table:
        """Several series' resumed columns as ``live_recursive`` rows, in one table (each
        column converted once, to the table's type)."""
        if self._types is None:
            self._types = dict(zip(*self._recursive_schema(), strict=True))
        columns: dict[str, Any] = {
            "symbol": [key[0] for key, n, _ in resumed for _ in range(n)],
            "interval": [key[1] for key, n, _ in resumed for _ in range(n)],
        }
        for name in ("open_time", "close_time", "ingested_at", "close"):
            columns[name] = pa.chunked_array(
                [c for _, _, values in resumed for c in values[name].chunks]
            )
        columns["warmup_bars"] = np.concatenate([values["warmup_bars"] for _, _, values in resumed])
        for name in self.params.feature_columns() + self.params.state_columns():
            joined = np.concatenate([values[name] for _, _, values in resumed])
            columns[name] = pa.array(joined, from_pandas=True).cast(self._types[name])
        return pa.table(columns)

    def _recursive_schema(self) -> tuple[list[str], list[pa.DataType]]:
        schema = self.conn.execute("select * from live_recursive limit 0").to_arrow_table().schema
        return schema.names, schema.types

    def _load_last_rows(self, keys: list[SeriesKey]) -> None:
        """The last recursive row of each series not held yet in ``_last_rows`` (the state
        its next bar resumes from), all read in one query."""
        missing = [key for key in keys if key not in self._last_rows]
        if not missing:
            return
        wanted = pa.table({"symbol": [k[0] for k in missing], "interval": [k[1] for k in missing]})
        self.conn.register("live_wanted", wanted)
        try:
            cursor = self.conn.execute(
                "select * from live_recursive semi join live_wanted using (symbol, interval) "
                "qualify row_number() over (partition by symbol, interval "
                "order by open_time desc) = 1"
            )
            rows = cursor.fetchall()
        finally:
            self.conn.unregister("live_wanted")
        names = [d[0] for d in cursor.description or []]
        for row in rows:
            last = {n: (np.nan if v is None else v) for n, v in zip(names, row, strict=True)}
            self._last_rows[(str(last["symbol"]), str(last["interval"]))] = last

    def warm_kernels(self) -> None:
        """Resume one series' indicators by one bar and drop the result: the kernels are
        compiled (or loaded from numba's cache) before the first bar closes, not during it."""
        self._load_last_rows(self.series()[:1])
        for last in self._last_rows.values():
            if is_resumable(last, self.params):
                close = np.array([float(last["close"])])
                resume(close, close, close, self.params, last)
                return

    def compact(self) -> None:
        """Free the row versions the steps deleted (an in-memory database keeps them until a
        checkpoint): the process's memory stays flat from bar to bar; then hand the heap's
        free pages back to the system."""
        self.conn.execute("checkpoint")
        release_free_memory()

    def recompute(self, changed: Mapping[SeriesKey, int | None]) -> None:
        """Features and signals of each changed series' new rows (``changed``: series -> how
        many new bars, None: all), evaluated over their look-back only (exact: see
        :data:`hermes.lake.WINDOW_MODE`); then the views show the changed series' whole
        history, as the feed and the ledger read it."""
        c = self.conn
        self._mark(changed, "live_klines", self.feature_lookback)
        c.execute(_DELETE_NEW.format(table="live_features"))
        c.execute(_INSERT_NEW.format(table="live_features", sql=self.sql["gold_features"]))
        counted = any(n is not None for n in changed.values())
        if self.ml is not None and counted:  # held series the lake now has a model for
            changed = self.ml.widen(changed)
        self._mark(changed, "live_features", self.signal_lookback)
        if self.ml is not None and counted:
            self.ml.predict()
        for strategy_id, sql in self._signal_sql.items():
            table = identifier(f"gold_signals_{strategy_id}")
            c.execute(_DELETE_NEW.format(table=table))
            c.execute(_INSERT_NEW.format(table=table, sql=sql))  # the model's own SQL
        c.execute("update live_changed set since = null")

    def show(self, keys: list[SeriesKey]) -> None:
        """Let the views show these series' whole history (the feed and the ledger read it)."""
        self._set_changed([(key, None, None) for key in keys])

    def _set_changed(self, rows: list[tuple[SeriesKey, Any, Any]]) -> None:
        """``live_changed`` holds these (series, since, first new) rows only."""
        table = pa.table(
            {
                "symbol": pa.array([key[0] for key, _, _ in rows], pa.string()),
                "interval": pa.array([key[1] for key, _, _ in rows], pa.string()),
                "since": pa.array([since for _, since, _ in rows], pa.timestamp("us")),
                "first_new": pa.array([first for _, _, first in rows], pa.timestamp("us")),
            }
        )
        self.conn.execute("delete from live_changed")
        self._insert("insert into live_changed by name select * from live_new", table)

    def _mark(self, changed: Mapping[SeriesKey, int | None], table: str, lookback: int) -> None:
        """``live_changed``: per series, the first new bar and the first bar of its look-back
        (the bar ``new + lookback - 1`` back from the last one of ``table``; the whole
        history when it is shorter), found for every series at once."""
        counted = {k: n for k, n in changed.items() if n is not None}
        back = pa.table(
            {
                "symbol": [k[0] for k in counted],
                "interval": [k[1] for k in counted],
                "since_rank": [n + lookback for n in counted.values()],
                "first_rank": list(counted.values()),
            }
        )
        most, c = max(counted.values(), default=0), self.conn
        c.register("live_back", back)
        try:
            since = self._ranked(table, "since_rank", most + lookback if counted else 0)
            first = self._ranked("live_klines", "first_rank", most)
        finally:
            c.unregister("live_back")
        rows = [(key, since.get(key), first.get(key)) for key in counted]
        rows += [(key, None, None) for key, n in changed.items() if n is None]
        self._set_changed(rows)

    def _ranked(self, table: str, rank: str, most: int) -> dict[SeriesKey, Any]:
        """Per series of ``live_back``, the open time of ``table``'s row ``rank`` from the end
        (none when the series is shorter), from the ``most`` latest of each (a top-N
        aggregate: no sort of the whole history)."""
        if most < 1:
            return {}
        found = self.conn.execute(
            f"select b.symbol, b.interval, list_extract(t.latest, b.{rank}) from ("  # noqa: S608
            "select symbol, interval, max(open_time, ?) as latest from "
            f"{identifier(table)} semi join live_back using (symbol, interval) "
            "group by symbol, interval) as t inner join live_back as b using (symbol, interval)",
            [most],
        ).fetchall()
        return {(str(s), str(i)): t for s, i, t in found if t is not None}

    def features(self, key: SeriesKey) -> pa.Table:
        """All feature rows of a series (for comparisons and the store)."""
        return self.conn.execute(
            "select * from live_features where symbol = ? and interval = ? order by open_time",
            list(key),
        ).to_arrow_table()


_DELETE_NEW = """
    delete from {table} using live_changed as c
    where {table}.symbol = c.symbol and {table}.interval = c.interval
      and (c.first_new is null or {table}.open_time >= c.first_new)
"""
_INSERT_NEW = """
    insert into {table} by name
    select new.* from ({sql}) as new
    inner join live_changed as c on new.symbol = c.symbol and new.interval = c.interval
    where c.first_new is null or new.open_time >= c.first_new
"""


def _tail(table: str) -> str:
    """A changed series' rows of ``table`` from the start of its look-back (all when none)."""
    return (
        f"select t.* from {table} as t inner join live_changed as c "  # noqa: S608
        "on t.symbol = c.symbol and t.interval = c.interval "
        "where c.since is null or t.open_time >= c.since"
    )


def _hlc(bars: pa.Table) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    high, low, close = (
        bars.column(n).to_numpy().astype(np.float64) for n in ("high", "low", "close")
    )
    return high, low, close
