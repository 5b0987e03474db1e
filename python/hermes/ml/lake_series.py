"""What the walk-forward of ``gold_ml_predictions`` reads from the lake, one query per kind.

:func:`plan_series` decides per changed series what to compute: on a full build every block;
on an incremental run the new bars of the block an earlier run already trained are predicted
with that block's recorded model (read back from its artifact), and only blocks that begin
with the new bars are trained. :func:`load_series` reads the bars each needs (the whole
series when a block is to be trained, else only the new bars) for all series in one query.
The views named here are created by the dbt model: ``hermes_ml_features``
(``gold_ml_features``), ``hermes_ml_labels`` (``gold_ml_labels``) and ``hermes_ml_klines``
(``silver_klines``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa

from hermes.ml.records import artifact_root, load_booster, read_artifacts
from hermes.ml.training import Series, TrainingConfig
from hermes.ml.walk_forward import Block


@dataclass
class Plan:
    """One changed series: from which bar (``first``, a position) its rows are rewritten."""

    symbol: str
    interval: str
    first: int = 0
    recorded: Block | None = None
    """The model of the block bar ``first`` falls in, when an earlier run recorded it."""
    bars: int = 0
    """Bars the series has now."""
    since: Any = None
    """Open time of the first changed bar (None: the whole series)."""

    def needs_history(self, config: TrainingConfig) -> bool:
        """Whether a block is to be trained (then the whole series is read)."""
        block_end = (self.first // config.retrain_every + 1) * config.retrain_every
        return self.recorded is None or self.bars > block_end


@dataclass
class Loaded:
    """The bars of a series read from position ``offset`` on, with their candles' landing."""

    series: Series
    ingested_at: np.ndarray
    offset: int


def plan_series(
    session: Any, changed: list[tuple[str, str, Any]], this: str | None, config: TrainingConfig
) -> list[Plan]:
    """The plan of each changed (symbol, interval, first changed open_time) series.

    On an incremental run (``this``: the model's relation) a series whose first changed bar
    is inside a block (not its first bar) reuses the block's recorded model: that model
    only read rows whose labels closed before the block began, which did not change.
    """
    if not changed:
        return []
    table = pa.table(
        {
            "symbol": [c[0] for c in changed],
            "interval": [c[1] for c in changed],
            "since": pa.array([c[2] for c in changed], pa.timestamp("us")),
        }
    )
    recorded = (
        f"""
        left join (
            select symbol, interval,
                arg_max(struct_pack(block_start, model_version, train_from, train_until,
                    train_label_until, train_rows), open_time) as block
            from {this} as this
            inner join hermes_ml_plan as plan using (symbol, interval)
            where this.open_time < plan.since
            group by all
        ) as recorded using (symbol, interval)
        """  # noqa: S608 (this: dbt's relation of the model)
        if this
        else "cross join (select null as block) as recorded"
    )
    session.register("hermes_ml_plan", table)
    try:
        rows = session.execute(
            f"""
            with counts as (
                select plan.symbol, plan.interval,
                    count(*) filter (where features.open_time < plan.since) as first,
                    count(*) as bars
                from hermes_ml_plan as plan
                inner join hermes_ml_features as features using (symbol, interval)
                group by all
            )
            select counts.symbol, counts.interval, counts.first, counts.bars, recorded.block,
                plan.since
            from counts {recorded}
            inner join hermes_ml_plan as plan using (symbol, interval)
            order by all
            """  # noqa: S608 (recorded: the fixed text above)
        ).fetchall()
    finally:
        session.unregister("hermes_ml_plan")
    plans = []
    prefix = config.config_hash() + "-"
    for symbol, interval, first, bars, block, since in rows:
        plan = Plan(symbol, interval, int(first), None, int(bars), since)
        version = None if block is None else block["model_version"]
        if (
            block is not None
            and plan.first % config.retrain_every != 0
            and (version is None or version.startswith(prefix))
        ):
            plan.recorded = Block(
                np.datetime64(block["block_start"], "us"),
                None,
                version,
                _time(block["train_from"]),
                _time(block["train_until"]),
                _time(block["train_label_until"]),
                int(block["train_rows"]),
            )
        plans.append(plan)
    _load_boosters(session, plans)
    return plans


def _time(value: Any) -> np.datetime64:
    return np.datetime64(value, "us") if value is not None else np.datetime64("NaT", "us")


def _load_boosters(session: Any, plans: list[Plan]) -> None:
    """Each recorded block's model, from its artifact (checked against its version)."""
    wanted = {p.recorded.model_version: p for p in plans if p.recorded and p.recorded.model_version}
    if not wanted:
        return
    artifacts = read_artifacts(session, artifact_root(session), sorted(wanted))
    versions, texts = artifacts["model_version"].to_pylist(), artifacts["model_text"].to_pylist()
    text_of = dict(zip(versions, texts, strict=True))
    for plan in plans:
        block = plan.recorded
        if block is not None and block.model_version is not None:
            booster = load_booster(text_of[block.model_version])
            plan.recorded = Block(
                block.block_start,
                booster,
                block.model_version,
                block.train_from,
                block.train_until,
                block.train_label_until,
                block.train_rows,
            )


def load_series(
    session: Any, plans: list[Plan], config: TrainingConfig, seconds: dict[str, int]
) -> list[Loaded]:
    """The bars each plan needs, in the plans' order: the whole series when it trains a
    block, else the bars from its ``first`` on."""
    if not plans:
        return []
    history = [p.needs_history(config) for p in plans]
    table = pa.table(
        {
            "symbol": [p.symbol for p in plans],
            "interval": [p.interval for p in plans],
            "since": pa.array(
                [None if whole else p.since for p, whole in zip(plans, history, strict=True)],
                pa.timestamp("us"),
            ),
        }
    )
    columns = ", ".join(f"features.{name}" for name in config.features)
    # the earliest bar read: the other inputs are cut there before they are joined
    starts = [p.since for p, whole in zip(plans, history, strict=True) if not whole]
    floor = min(starts) if len(starts) == len(plans) else datetime(1, 1, 1)
    session.register("hermes_ml_plan", table)
    try:
        data = session.execute(
            f"""
            with features as (
                select features.* from hermes_ml_features as features
                inner join hermes_ml_plan as plan using (symbol, interval)
                where plan.since is null or features.open_time >= plan.since
            ),
            klines as (select * from hermes_ml_klines where open_time >= $floor),
            labels as (
                select * from hermes_ml_labels where open_time >= $floor and horizon = $horizon
            )
            select features.symbol, features.interval, features.open_time, klines.ingested_at,
                labels.label::double as label, labels.label_until, {columns}
            from features
            inner join klines using (symbol, interval, open_time)
            left join labels using (symbol, interval, open_time)
            order by features.symbol, features.interval, features.open_time
            """,  # noqa: S608 (columns: identifiers checked by TrainingConfig)
            {"floor": floor, "horizon": config.horizon},
        ).fetchnumpy()
    finally:
        session.unregister("hermes_ml_plan")
    symbols, intervals = np.asarray(data["symbol"]), np.asarray(data["interval"])
    change = np.flatnonzero((symbols[1:] != symbols[:-1]) | (intervals[1:] != intervals[:-1]))
    bounds = [0, *(change + 1).tolist(), len(symbols)]
    spans = zip(bounds[:-1], bounds[1:], strict=True)
    parts = {(symbols[a], intervals[a]): slice(a, b) for a, b in spans if b > a}
    matrix = np.column_stack([np.asarray(data[name], dtype=np.float64) for name in config.features])
    times = np.asarray(data["open_time"]).astype("datetime64[us]")
    until = np.asarray(data["label_until"]).astype("datetime64[us]")
    label = np.asarray(data["label"], dtype=np.float64)
    ingested = np.asarray(data["ingested_at"]).astype("datetime64[us]")
    out = []
    for plan, whole in zip(plans, history, strict=True):
        part = parts.get((plan.symbol, plan.interval), slice(0, 0))
        series = Series(times[part], matrix[part], label[part], until[part], seconds[plan.interval])
        out.append(Loaded(series, ingested[part], 0 if whole else plan.first))
    return out
