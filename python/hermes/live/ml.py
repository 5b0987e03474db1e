"""The ML strategy in the live path: each new bar's ML features, predicted with the recorded
model of the walk-forward block the bar belongs to; the live path never trains.

The batch (``gold_ml_predictions``) cuts each series into blocks of ``ml_retrain_every`` bars
counted from its first bar and trains one LightGBM model per block on earlier rows only; an
incremental build predicts the new bars of a block it already trained with that block's
recorded model (its artifact). The live path does the same:

* the new bars' ML features are the compiled SQL of the dbt model ``gold_ml_features``
  evaluated over the warm feature store (one definition);
* a new bar continues the series' last block (its rows counted) until that block holds
  ``ml_retrain_every`` bars; the next bar starts the next block. A bar is predicted with
  its block's recorded model by :func:`hermes.ml.walk_forward.predict_recorded`, the code
  the incremental build predicts with; a block the lake does not hold yet is looked up in
  the lake (:func:`lake_blocks`) when its first bar arrives;
* a block whose model is not recorded yet (or was recorded with other ``ml_*`` settings)
  **holds the series' ML back**: one alert names the series and the block, the ML
  strategies get no feed row or ledger bar for that series, and every other strategy and
  series carries on. At each of the series' next bars the lake is asked again; once the
  daily refresh has recorded the block's model, the held bars are predicted and the ML
  strategies follow the series again from its whole history.

LightGBM is imported only when a model is loaded, so only with an active ML strategy, and
without its scikit-learn integration (:func:`import_lightgbm`).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from hermes.config import Settings
from hermes.lake import DataError, pinned
from hermes.live.project import PREDICTIONS, SeriesKey, project_vars
from hermes.ml.records import artifact_root, load_booster, read_artifacts
from hermes.ml.training import TrainingConfig
from hermes.ml.walk_forward import Block, predict_recorded

log = logging.getLogger("hermes.live")

BlockKey = tuple[str, str, datetime]
"""A walk-forward block: (symbol, interval, open time of its first bar)."""
Recorded = tuple[str | None, str | None]
"""A block the lake records: its model version and model text (None, None: no model, as
when its window had too few rows; its bars have no probability)."""
Lookup = Callable[[list[BlockKey]], dict[BlockKey, Recorded]]
COLUMNS = ("symbol", "interval", "open_time", "block_start", "probability_up", "model_version")
"""The prediction columns the live path keeps (those the ML signal model reads, and the block)."""
LIVE_TABLE = "live_ml_predictions"


def import_lightgbm() -> None:
    """Import LightGBM as the live path uses it: its booster only. Its package imports
    scikit-learn when it finds it (for estimator classes the live path never uses), which
    costs the live process about 65 MB of its memory (measured: 81 MB for the import, 15
    without); so unless scikit-learn is imported already, it is hidden while LightGBM is
    imported (LightGBM then works as installed without it), then visible again."""
    if "lightgbm" in sys.modules or "sklearn" in sys.modules:
        return
    sys.modules["sklearn"] = None  # type: ignore[assignment]  # an import of it fails
    try:
        import lightgbm  # noqa: F401
    finally:
        del sys.modules["sklearn"]


def ml_config() -> TrainingConfig:
    """The walk-forward's settings, from the ``ml_*`` vars of dbt_project.yml."""
    return TrainingConfig.from_vars(project_vars("ml_").get)


@dataclass
class MlSources:
    """What the live ML starts from: the lake's predictions of the series, the recorded
    model of each series' last block, and where later blocks are looked up."""

    predictions: pa.Table
    recorded: dict[BlockKey, Recorded]
    lookup: Lookup


def read_ml_sources(
    reader: duckdb.DuckDBPyConnection,
    lake: Settings,
    series: list[SeriesKey],
    until: datetime | None,
) -> MlSources:
    """The series' prediction rows (those opening before ``until``, if given) and the
    model of each one's last block, read at the reader's snapshot."""
    pairs = pa.table({"symbol": [s for s, _ in series], "interval": [i for _, i in series]})
    reader.register("live_ml_pairs", pairs)
    try:
        predictions = reader.execute(
            f"select {', '.join(COLUMNS)} from {PREDICTIONS} "  # noqa: S608 (constants)
            "semi join live_ml_pairs using (symbol, interval) "
            "where ?::timestamp is null or open_time < ? order by symbol, interval, open_time",
            [until, until],
        ).to_arrow_table()
    finally:
        reader.unregister("live_ml_pairs")
    reader.register("live_ml_rows", predictions)
    try:
        last = reader.execute(
            "select symbol, interval, max(block_start) from live_ml_rows group by all"
        ).fetchall()
    finally:
        reader.unregister("live_ml_rows")
    recorded = recorded_blocks(reader, [(str(s), str(i), t) for s, i, t in last])
    return MlSources(predictions, recorded, lambda wanted: lake_blocks(lake, wanted))


def recorded_blocks(
    reader: duckdb.DuckDBPyConnection, wanted: list[BlockKey]
) -> dict[BlockKey, Recorded]:
    """The blocks among ``wanted`` that ``gold_ml_predictions`` holds, each with its model's
    text from its artifact (checked against its version: :func:`read_artifacts`)."""
    if not wanted:
        return {}
    blocks = pa.table(
        {
            "symbol": [b[0] for b in wanted],
            "interval": [b[1] for b in wanted],
            "block_start": pa.array([b[2] for b in wanted], pa.timestamp("us")),
        }
    )
    reader.register("live_ml_blocks", blocks)
    try:
        rows = reader.execute(
            f"select distinct symbol, interval, block_start, model_version from {PREDICTIONS} "  # noqa: S608
            "semi join live_ml_blocks using (symbol, interval, block_start)"
        ).fetchall()
    finally:
        reader.unregister("live_ml_blocks")
    versions = sorted({str(v) for *_, v in rows if v is not None})
    artifacts = read_artifacts(reader, artifact_root(reader), versions)
    versions_read = artifacts["model_version"].to_pylist()
    texts = dict(zip(versions_read, artifacts["model_text"].to_pylist(), strict=True))
    return {(str(s), str(i), t): (v, texts[v] if v else None) for s, i, t, v in rows}


def lake_blocks(settings: Settings, wanted: list[BlockKey]) -> dict[BlockKey, Recorded]:
    """:func:`recorded_blocks` read from the lake's current snapshot (a short read)."""
    with pinned(settings) as (reader, _):
        return recorded_blocks(reader, wanted)


class LiveMl:
    """The warm lake's ML predictions (``live_ml_predictions``), extended bar by bar."""

    def __init__(
        self,
        conn: duckdb.DuckDBPyConnection,
        sources: MlSources,
        features_sql: str,
        strategy_ids: list[str],
        config: TrainingConfig | None = None,
    ) -> None:
        self.conn = conn
        self.sql = features_sql
        """The compiled SQL of ``gold_ml_features`` (over the warm ``gold_feature_store``)."""
        self.config = config or ml_config()
        self.strategy_ids = strategy_ids
        self.lookup = sources.lookup
        self.known: dict[BlockKey, Recorded] = dict(sources.recorded)
        """Blocks found recorded (a block not found is asked again at the next bar)."""
        self.models: dict[BlockKey, Block] = {}
        """The loaded model of each series' current block."""
        self.held: dict[SeriesKey, datetime] = {}
        """Series whose ML is held back, with the first bar of the block lacking its model."""
        self.alerts: list[tuple[SeriesKey, str]] = []
        conn.register("live_source", sources.predictions)
        try:
            conn.execute(f"create table {LIVE_TABLE} as select * from live_source")  # noqa: S608
        finally:
            conn.unregister("live_source")
        for block in sources.recorded:  # loaded now (and LightGBM imported), not at a bar
            self._model(block)

    def take_alerts(self) -> list[tuple[SeriesKey, str]]:
        """The alerts raised since the last call (the series whose ML was held back)."""
        out, self.alerts = self.alerts, []
        return out

    def widen(self, changed: Mapping[SeriesKey, int | None]) -> dict[SeriesKey, int | None]:
        """``changed`` with each held series whose block's model the lake now records
        counted from that block's first bar (its held bars are predicted with the new
        ones); the lake is asked once for all of them."""
        out = dict(changed)
        held = [k for k, n in changed.items() if n is not None and k in self.held]
        if not held:
            return out
        self._look_up([(*k, self.held[k]) for k in held])
        for key in held:
            start = self.held[key]
            if not isinstance(self._model((*key, start)), Block):
                continue
            del self.held[key]
            row = self.conn.execute(
                "select count(*) from live_features where symbol = ? and interval = ? "
                "and open_time >= ?",
                [*key, start],
            ).fetchone()
            out[key] = max(int(row[0]) if row else 0, changed[key] or 0)
            log.info("hermes live: %s %s: ML resumed from the block of %s", *key, start)
        return out

    def predict(self) -> None:
        """The prediction rows of the changed series' new bars (``live_changed.first_new``
        on), each with its block's recorded model; a block without one holds the series
        back (:attr:`held`)."""
        c = self.conn
        c.execute(
            f"delete from {LIVE_TABLE} using live_changed as c "  # noqa: S608 (constant)
            f"where {LIVE_TABLE}.symbol = c.symbol and {LIVE_TABLE}.interval = c.interval "
            f"and {LIVE_TABLE}.open_time >= c.first_new"
        )
        names = ", ".join(f"f.{n}" for n in self.config.features)  # checked identifiers
        new = c.execute(
            f"select f.symbol, f.interval, f.open_time, {names} from ({self.sql}) as f "  # noqa: S608
            "inner join live_changed as c on f.symbol = c.symbol and f.interval = c.interval "
            "where f.open_time >= c.first_new order by f.symbol, f.interval, f.open_time"
        ).fetchnumpy()
        if not len(new["symbol"]):
            return
        last = {
            (str(s), str(i)): (t, int(n))
            for s, i, t, n in c.execute(_LAST_BLOCK.format(table=LIVE_TABLE)).fetchall()
        }
        symbols, intervals = np.asarray(new["symbol"]), np.asarray(new["interval"])
        times = np.asarray(new["open_time"]).astype("datetime64[us]")
        features = np.column_stack(
            [np.asarray(new[n], dtype=np.float64) for n in self.config.features]
        )
        groups: dict[SeriesKey, list[int]] = {}
        for i, key in enumerate(zip(symbols.tolist(), intervals.tolist(), strict=True)):
            if key not in self.held:  # still waiting for its block's model (see widen)
                groups.setdefault(key, []).append(i)
        plans = {k: self._blocks(times[at], last.get(k)) for k, at in groups.items()}
        self._look_up([(*k, s) for k, starts in plans.items() for s, _ in starts])
        tables = []
        for key, at in groups.items():
            for start, part in plans[key]:
                model = self._model((*key, start))
                if not isinstance(model, Block):
                    self._hold(key, start, model)
                    break
                rows = np.asarray(at)[part]
                out = predict_recorded(features[rows], model)
                tables.append(_rows(key, times[rows], start, out))
        if tables:
            c.register("live_new", pa.concat_tables(tables))
            try:
                c.execute(f"insert into {LIVE_TABLE} by name select * from live_new")  # noqa: S608
            finally:
                c.unregister("live_new")

    # -- inside

    def _blocks(
        self, times: np.ndarray, last: tuple[datetime, int] | None
    ) -> list[tuple[datetime, slice]]:
        """The blocks of a series' new bars (``times``), each as (first bar, positions):
        the series' last block (``last``: its first bar and how many bars it holds) goes on
        until it holds ``ml_retrain_every`` bars, then each next block starts."""
        every = self.config.retrain_every
        start, count = last if last is not None else (None, every)
        out: list[tuple[datetime, slice]] = []
        begin = 0
        for i, when in enumerate(times):
            if count >= every or start is None:
                if i > begin and start is not None:
                    out.append((start, slice(begin, i)))
                start, count, begin = when.astype(datetime), 0, i
            count += 1
        if start is not None and len(times) > begin:
            out.append((start, slice(begin, len(times))))
        return out

    def _look_up(self, wanted: list[BlockKey]) -> None:
        """Ask the lake once for the blocks not found yet (a failed read is logged: those
        blocks stay missing until the next bar)."""
        missing = sorted({b for b in wanted if b not in self.known})
        if not missing:
            return
        try:
            self.known.update(self.lookup(missing))
        except (duckdb.Error, DataError, OSError) as exc:
            log.warning("hermes live: ML models could not be read from the lake: %s", exc)

    def _model(self, block: BlockKey) -> Block | str:
        """The loaded model of a recorded block, or why the block cannot be predicted."""
        if block in self.models:
            return self.models[block]
        recorded = self.known.get(block)
        if recorded is None:
            return "its walk-forward block has no recorded model yet (the daily refresh trains it)"
        version, text = recorded
        if version is not None and not version.startswith(self.config.config_hash() + "-"):
            return (
                f"the model of its walk-forward block ({version}) was trained with other ml_* "
                "settings (the daily refresh trains it again)"
            )
        import_lightgbm()
        booster = load_booster(text) if text is not None else None
        for old in [b for b in self.models if b[:2] == block[:2]]:
            del self.models[old]  # one model per series: its current block's
        self.models[block] = Block(np.datetime64(block[2], "us"), booster, version)
        return self.models[block]

    def _hold(self, key: SeriesKey, start: datetime, reason: str) -> None:
        self.held[key] = start
        strategies = ", ".join(self.strategy_ids)
        self.alerts.append(
            (
                key,
                f"ML held back from the bar {start:%Y-%m-%d %H:%M}: {reason}; its ML "
                f"strategies ({strategies}) wait for it on this series, every other strategy "
                "carries on",
            )
        )


_LAST_BLOCK = """
    with before as (
        select p.symbol, p.interval, p.block_start from {table} as p
        inner join live_changed as c on p.symbol = c.symbol and p.interval = c.interval
        where p.open_time < c.first_new
    ),
    last as (select symbol, interval, max(block_start) as block_start from before group by all)
    select symbol, interval, block_start, count(*) from before
    inner join last using (symbol, interval, block_start) group by all
"""
"""Per changed series: the first bar of its last block before the new bars, and its bars."""


def _rows(key: SeriesKey, times: np.ndarray, start: datetime, out: dict[str, Any]) -> pa.Table:
    size = len(times)
    return pa.table(
        {
            "symbol": [key[0]] * size,
            "interval": [key[1]] * size,
            "open_time": pa.array(times, pa.timestamp("us")),
            "block_start": pa.array([start] * size, pa.timestamp("us")),
            "probability_up": pa.array(out["probability_up"], pa.float64(), from_pandas=True),
            "model_version": pa.array(out["model_version"], pa.string()),
        }
    )
