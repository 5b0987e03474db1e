"""The signal feed: the latest decision of every active strategy on every series.

For each active strategy of the registry and each (symbol, interval) of the feature store,
the feed holds one row about the latest closed bar:

* ``decision``: ``enter`` (flat and the entry signal fires, so a buy goes out at the next
  open), ``exit`` (in a position and the exit signal fires), ``hold`` (nothing changes) or
  ``delisted`` (the universe lists the pair as delisted and its delisting day has begun: the
  last bar is final, a position is closed at its close, as the paper ledger does; such a
  row is never ``stale``);
* ``position_before`` / ``position``: whether the strategy holds the asset (1) or not (0)
  before and after that decision; the position comes from the backtest engine's
  arithmetic run over the whole history with the strategy's paper settings (backtest
  defaults if it is not paper traded), so stops count (:func:`hermes.backtest.fills.simulate`:
  the vectorbt engine's numbers to the bit, without vectorbt's cost per call);
* ``price``: the bar's close; ``flags``: the model's component flags on the bar (JSON);
* ``bar_age_seconds`` / ``bar_age_intervals``: time from the bar's close to when the feed
  was computed, in seconds and in intervals; ``stale`` when more than one interval old
  (a refresh missed, or the exchange has not published the next bar).

Every refresh replaces the table ``gold_signal_feed`` and writes ``<lake>/signals/feed.json``
and ``feed.csv``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from hermes import storage
from hermes.backtest.config import BacktestConfig
from hermes.backtest.fills import simulate
from hermes.config import Settings
from hermes.features.store import FEATURE_STORE, select_series
from hermes.intervals import interval_seconds
from hermes.lake import insert, transaction
from hermes.paper.activation import activation_of
from hermes.paper.feed_inputs import feed_fingerprint, price_digests, series_digests
from hermes.paper.series import DELISTED
from hermes.paper.tables import ensure_paper_tables
from hermes.signals.models import read_prices_many
from hermes.signals.registry import Strategy, list_strategies
from hermes.signals.source import SignalSource, checked_source
from hermes.universe import delisted_on

COLUMNS = (
    "strategy_id",
    "strategy_version",
    "parameters",
    "symbol",
    "interval",
    "open_time",
    "close_time",
    "decision",
    "position_before",
    "position",
    "price",
    "flags",
    "bar_age_seconds",
    "bar_age_intervals",
    "stale",
    "snapshot_id",
    "computed_at",
)
"""The feed's columns, as written to the feed files."""
FINGERPRINT = "inputs_fingerprint"
"""The column of ``gold_signal_feed`` holding the fingerprint of the row's inputs (kept out
of the feed files)."""


def decide(held: bool, entry: bool, exit_: bool) -> str:
    """The decision on a closed bar for a long-only, no-pyramiding strategy.

    An entry and an exit on the same bar cancel out (the engine ignores both)."""
    if not held and entry and not exit_:
        return "enter"
    if held and exit_ and not entry:
        return "exit"
    return "hold"


def feed_strategies(
    reader: duckdb.DuckDBPyConnection, features_table: str = FEATURE_STORE
) -> list[tuple[Strategy, SignalSource, BacktestConfig]]:
    """The active strategies the feed follows (with the parameters their signal table was
    built with), their signal source, and the settings their position is simulated with
    (the paper activation's; the backtest defaults when not paper traded)."""
    out = []
    for strategy in list_strategies(reader):
        if strategy.status != "active":
            continue
        checked = checked_source(reader, strategy, features_table)
        if checked is None:
            continue  # refused: named by refresh_paper's alert
        strategy, source = checked
        activation = activation_of(strategy)
        out.append((strategy, source, activation.config if activation else BacktestConfig()))
    return out


FeedKey = tuple[str, str, str]
"""(strategy, symbol, interval) of a feed row."""


def compute_feed(
    reader: duckdb.DuckDBPyConnection,
    *,
    snapshot: int,
    now: datetime | None = None,
    features_table: str = FEATURE_STORE,
    skip: Collection[tuple[str, str]] = (),
    end: datetime | None = None,
    stored: Mapping[FeedKey, dict[str, Any]] | None = None,
    computed: list[FeedKey] | None = None,
) -> list[dict[str, Any]]:
    """One row per (active strategy, symbol, interval), as of the reader's snapshot (``end``:
    the bars before it only); ``skip``: (symbol, interval) series left out (held back by the
    audit).

    A ``stored`` row (the previous feed) whose inputs' fingerprint
    (:mod:`hermes.paper.feed_inputs`) is unchanged is reused with its age, ``stale``, snapshot
    and ``computed_at`` brought to this refresh: recomputing it would give the same row. The
    keys of the rows recomputed are appended to ``computed``."""
    now = now or datetime.now(UTC).replace(tzinfo=None)
    stored = stored or {}
    rows = []
    pairs = [p for p in select_series(reader, None, None, features_table) if p not in skip]
    prices = price_digests(reader, features_table, end=end)
    todo: list[tuple[Strategy, SignalSource, BacktestConfig, list[tuple[str, str, str, int]]]]
    todo = []  # per strategy, the rows recomputed: read at once, then simulated
    for strategy, source, config in feed_strategies(reader, features_table):
        signals = series_digests(reader, source.model.table, end=end)
        changed: list[tuple[str, str, str, int]] = []
        for symbol, interval in pairs:
            key = (strategy.strategy_id, symbol, interval)
            fingerprint = feed_fingerprint(
                strategy, config, source.model.sql_hash, (symbol, interval),
                prices.get((symbol, interval), ""), signals.get((symbol, interval), ""),
                delisted_on(symbol, now) is not None,
            )  # fmt: skip
            old = stored.get(key)
            if old is not None and old.get(FINGERPRINT) == fingerprint:
                rows.append(timed(old, now=now, snapshot=snapshot))
            else:
                changed.append((symbol, interval, fingerprint, len(rows)))
                rows.append({})
        todo.append((strategy, source, config, changed))
    # the prices of every series recomputed, read once for all strategies' signals
    wanted = sorted(
        {(symbol, interval) for *_, changed in todo for symbol, interval, _, _ in changed}
    )
    ohlcv = read_prices_many(reader, features_table, wanted, end=end) if wanted else {}
    for strategy, source, config, changed in todo:
        mine = [(symbol, interval) for symbol, interval, _, _ in changed]
        parameters = strategy.parameters
        read = source.many(mine, end=end, parameters=parameters, prices=ohlcv) if mine else {}
        for symbol, interval, fingerprint, position in changed:
            series = read.get((symbol, interval))
            if series is None:
                continue
            sim = simulate(series.prices, series.entries, series.exits, config)
            flags = {name: bool(values[-1]) for name, values in series.flags.items()}
            row = feed_row(
                strategy, symbol, interval, series.open_time[-1].astype(datetime),
                held=bool(sim.position[-1] > 0), entry=bool(series.entries[-1]),
                exit_=bool(series.exits[-1]), price=float(series.prices["close"][-1]),
                flags=flags, now=now, snapshot=snapshot,
            )  # fmt: skip
            rows[position] = row | {FINGERPRINT: fingerprint}
            if computed is not None:
                computed.append((strategy.strategy_id, symbol, interval))
    return [row for row in rows if row]


def feed_row(
    strategy: Strategy,
    symbol: str,
    interval: str,
    opened: datetime,
    *,
    held: bool,
    entry: bool,
    exit_: bool,
    price: float,
    flags: dict[str, bool],
    now: datetime,
    snapshot: int,
) -> dict[str, Any]:
    """The feed row of one series' latest closed bar (opened at ``opened``): ``held`` after
    it as the engine simulated, its signals, close and component flags."""
    decision = decide(held, entry, exit_)
    after = {"enter": 1.0, "exit": 0.0}.get(decision, float(held))
    if delisted_on(symbol, now) is not None:  # no next bar to act on: closed at the last close
        decision, after = DELISTED, 0.0
    row = {
        "strategy_id": strategy.strategy_id,
        "strategy_version": strategy.version,
        "parameters": strategy.parameters_json,
        "symbol": symbol,
        "interval": interval,
        "open_time": opened,
        "close_time": opened + timedelta(seconds=interval_seconds(interval)),
        "decision": decision,
        "position_before": float(held),
        "position": after,
        "price": price,
        "flags": json.dumps(flags, sort_keys=True),
    }
    return timed(row, now=now, snapshot=snapshot)


def timed(row: dict[str, Any], *, now: datetime, snapshot: int) -> dict[str, Any]:
    """``row`` with the fields that restate when the feed was computed: the bar's age at
    ``now``, ``stale`` (more than one interval old; never for a delisted pair's final bar),
    the snapshot and ``computed_at``."""
    seconds = interval_seconds(row["interval"])
    age = (now - row["close_time"]).total_seconds()
    return row | {
        "bar_age_seconds": age,
        "bar_age_intervals": age / seconds,
        "stale": bool(age > seconds) and row["decision"] != DELISTED,
        "snapshot_id": snapshot,
        "computed_at": now,
    }


def previous_feed(conn: duckdb.DuckDBPyConnection) -> dict[FeedKey, dict[str, Any]]:
    """The stored feed's rows by (strategy, symbol, interval)."""
    ensure_paper_tables(conn)
    cursor = conn.execute("select * from gold_signal_feed")
    names = [d[0] for d in cursor.description or []]
    return {
        (r["strategy_id"], r["symbol"], r["interval"]): r
        for r in (dict(zip(names, row, strict=True)) for row in cursor.fetchall())
    }


def new_decisions(
    before: dict[tuple[str, str, str], dict[str, Any]], rows: list[dict[str, Any]]
) -> list[str]:
    """Entries and exits on a bar the previous feed had not shown yet (for the notification)."""
    out = []
    for row in rows:
        key = (row["strategy_id"], row["symbol"], row["interval"])
        old = before.get(key)
        if row["decision"] == DELISTED:
            if old is None or old["decision"] != DELISTED:
                out.append(
                    f"delisted {row['strategy_id']} {row['symbol']} {row['interval']}: last bar "
                    f"{row['open_time']:%Y-%m-%d %H:%M} (close {row['price']:g})"
                )
            continue
        if row["decision"] == "hold" or (old is not None and old["open_time"] == row["open_time"]):
            continue
        out.append(
            f"{row['decision']} {row['strategy_id']} {row['symbol']} {row['interval']} "
            f"at the open after {row['open_time']:%Y-%m-%d %H:%M} (close {row['price']:g})"
        )
    return out


def replace_feed(conn: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> None:
    """The table ``gold_signal_feed`` replaced by ``rows`` in one transaction."""
    ensure_paper_tables(conn)
    with transaction(conn):
        conn.execute("delete from gold_signal_feed")
        if rows:
            insert(conn, "gold_signal_feed", pa.Table.from_pylist(rows))


def as_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: _text(row[k]) for k in COLUMNS} for row in rows)
    return out.getvalue()


def as_json(rows: list[dict[str, Any]]) -> str:
    return json.dumps([{k: _text(r[k]) for k in COLUMNS} for r in rows], indent=2) + "\n"


def _text(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    return value


@dataclass(frozen=True)
class FeedFiles:
    json: str
    csv: str


def write_feed_files(settings: Settings, rows: list[dict[str, Any]]) -> FeedFiles:
    """``<lake>/signals/feed.json`` and ``feed.csv`` (atomic writes, local or S3)."""
    root = f"{settings.storage_root.rstrip('/')}/signals"
    files = FeedFiles(f"{root}/feed.json", f"{root}/feed.csv")
    storage.write_bytes_atomic(settings, files.json, as_json(rows).encode())
    storage.write_bytes_atomic(settings, files.csv, as_csv(rows).encode())
    return files
