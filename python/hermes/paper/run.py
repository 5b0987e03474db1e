"""One paper-trading step of a refresh: feed, ledger, drift, all at one lake snapshot.

:func:`refresh_paper` reads the lake at ``snapshot`` (the one just published), recomputes
the feed rows whose inputs changed (:mod:`hermes.paper.feed_inputs`; the others are reused)
and the paper ledgers that may grow (a series with a bar after its ledger's stored last
bar: :mod:`hermes.paper.work`; the others would add nothing), then writes them (the
ledger and drift rows in one transaction, the feed in another) and the feed files, and
checks each ledger it extended against its backtest. Nothing is written when anything fails
to compute.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from hermes.backtest.fills import simulate
from hermes.backtest.inputs import cut, load_slice
from hermes.config import Settings
from hermes.features.store import FEATURE_STORE
from hermes.lake import DataError, as_of, connect, insert, transaction
from hermes.notify import notify
from hermes.paper.deactivation import closing_ledgers, stored_positions
from hermes.paper.drift import drift
from hermes.paper.feed import (
    compute_feed,
    new_decisions,
    previous_feed,
    replace_feed,
    write_feed_files,
)
from hermes.paper.ledger import compute_ledgers, extend_ledgers
from hermes.paper.portfolio import portfolio_equity
from hermes.paper.series import SeriesLedger
from hermes.paper.tables import ensure_paper_tables
from hermes.paper.verify import verify_ledgers
from hermes.paper.work import Pending, data_last_bars, stored_last_bars
from hermes.signals.registry import list_strategies
from hermes.signals.source import SignalSource
from hermes.signals.verdicts import check_each_on
from hermes.universe import unlisted

log = logging.getLogger("hermes.paper")


@dataclass
class PaperSummary:
    feed_rows: int = 0
    feed_computed: int = 0  # feed rows recomputed (the others' inputs were unchanged)
    decisions: list[str] = field(default_factory=list)  # new entries / exits
    ledger_orders: int = 0
    ledger_bars: int = 0
    series: int = 0
    drift: list[str] = field(default_factory=list)  # "<strategy> <symbol> <interval>: status"
    alerts: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # series before their paper_since
    files: list[str] = field(default_factory=list)
    verify: list[str] = field(default_factory=list)  # hermes paper --verify's lines
    errors: list[str] = field(default_factory=list)  # ledgers skipped, one line each
    unlisted: list[str] = field(default_factory=list)  # "SYMBOL/interval" not in the universe


def reference_equity(reader: duckdb.DuckDBPyConnection, ledger: SeriesLedger) -> np.ndarray:
    """The engine's equity over the history before ``paper_since``, same strategy and settings
    (none when that history cannot be read: the drift is then ``insufficient``); one series
    through :func:`hermes.backtest.fills.simulate`, the engine's numbers to the bit."""
    source = SignalSource(reader, ledger.strategy, FEATURE_STORE)
    if ledger.activation.portfolio:  # the portfolio's shared-cash equity
        return portfolio_equity(
            source, list(ledger.symbols), ledger.interval, ledger.activation.config,
            start=None, end=ledger.activation.start,
        )  # fmt: skip
    try:
        data = load_slice(
            source, ledger.symbol, ledger.interval, start=None, end=ledger.activation.start
        )
    except DataError:
        return np.array([], float)
    sim = simulate(data.prices, data.entries, data.exits, ledger.activation.config)
    return np.asarray(sim.equity, dtype=float)


def reference_equities(
    reader: duckdb.DuckDBPyConnection, ledgers: list[SeriesLedger]
) -> list[np.ndarray]:
    """:func:`reference_equity` of each ledger; the single-series ledgers of one strategy
    (same parameters and ``paper_since``) open its signals once and read their series
    together (:meth:`hermes.signals.source.SignalSource.many`), not one by one."""
    out: list[np.ndarray] = [np.array([], float)] * len(ledgers)
    groups: dict[tuple[str, str, datetime], list[int]] = {}
    for position, ledger in enumerate(ledgers):
        if ledger.activation.portfolio:
            out[position] = reference_equity(reader, ledger)
            continue
        strategy = ledger.strategy
        key = (strategy.strategy_id, strategy.parameters_json, ledger.activation.start)
        groups.setdefault(key, []).append(position)
    for (_, _, start), positions in groups.items():
        strategy = ledgers[positions[0]].strategy
        source = SignalSource(reader, strategy, FEATURE_STORE)
        pairs = [(ledgers[p].symbol, ledgers[p].interval) for p in positions]
        try:
            read = source.many(pairs, end=start, parameters=strategy.parameters)
        except DataError:  # one series' signals do not line up: each is read on its own
            for position in positions:
                out[position] = reference_equity(reader, ledgers[position])
            continue
        for position, pair in zip(positions, pairs, strict=True):
            if pair in read:  # a series without a bar before paper_since has no reference
                data = cut(read[pair], 0)
                config = ledgers[position].activation.config
                sim = simulate(data.prices, data.entries, data.exits, config)
                out[position] = np.asarray(sim.equity, dtype=float)
    return out


DriftKey = tuple[str, str, str, datetime]
"""(strategy, symbol, interval, last bar) of a drift row."""


def stored_drift(conn: duckdb.DuckDBPyConnection) -> dict[DriftKey, dict[str, Any]]:
    """The stored drift rows by (strategy, symbol, interval, last bar)."""
    ensure_paper_tables(conn)
    cursor = conn.execute("select * from gold_paper_drift")
    names = [d[0] for d in cursor.description or []]
    rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    return {(r["strategy_id"], r["symbol"], r["interval"], r["as_of"]): r for r in rows}


def drift_rows(
    reader: duckdb.DuckDBPyConnection,
    ledgers: list[SeriesLedger],
    snapshot: int,
    stored: dict[DriftKey, dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """One drift row per ledger; a ledger with no new bar reuses its ``stored`` row (the
    bootstrap of the same record and reference gives the same band)."""

    def key(ledger: SeriesLedger) -> DriftKey:
        return (ledger.strategy.strategy_id, ledger.symbol, ledger.interval, ledger.as_of)

    todo = [ledger for ledger in ledgers if not (stored and key(ledger) in stored)]
    references = dict(zip(map(id, todo), reference_equities(reader, todo), strict=True))
    rows = []
    for ledger in ledgers:
        if stored and key(ledger) in stored:
            rows.append(stored[key(ledger)])
            continue
        live = ledger.equity.column("equity").to_numpy()
        init = ledger.activation.config.init_cash
        result = drift(references[id(ledger)], np.r_[init, live])
        rows.append(
            {
                "strategy_id": ledger.strategy.strategy_id,
                "paper_since": ledger.activation.since,
                "symbol": ledger.symbol,
                "interval": ledger.interval,
                "as_of": ledger.as_of,
                **result.__dict__,
                "snapshot_id": snapshot,
            }
        )
    return rows


def ledger_copy(conn: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """An in-memory copy of the stored ledger tables (the lake's catalog is attached once per
    process, and the check reads the data at the refresh's snapshot)."""
    copy = duckdb.connect()
    for table in ("gold_paper_equity", "gold_paper_orders", "gold_paper_positions"):
        copy.register(table, conn.execute(f"select * from {table}").to_arrow_table())  # noqa: S608
    return copy


def _new_drift(conn: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The drift ``rows`` not stored yet (one read of the stored rows' keys)."""
    held = set(
        conn.execute("select strategy_id, symbol, interval, as_of from gold_paper_drift").fetchall()
    )
    return [
        row
        for row in rows
        if (row["strategy_id"], row["symbol"], row["interval"], row["as_of"]) not in held
    ]


def refresh_paper(
    settings: Settings,
    snapshot: int,
    *,
    end: datetime | None = None,
    now: datetime | None = None,
    write_files: bool = True,
    skip: Collection[tuple[str, str]] = (),
) -> PaperSummary:
    """Feed, ledger extension and drift as of ``snapshot`` (``end``: bars before it only).

    One series whose ledger cannot be computed or extended is named in ``errors`` and left
    as stored; the others carry on. ``skip``: (symbol, interval) series the audit held back:
    their ledgers wait and their feed rows stay as they were. A series of the lake the
    universe does not list (:func:`hermes.universe.unlisted`) is skipped the same way and
    named in ``unlisted``."""
    summary = PaperSummary()
    computed: list[tuple[str, str, str]] = []
    # one connection for the step: the working state, the published snapshot (as_of) in turn
    with connect(settings) as conn:
        positions = stored_positions(conn)  # deactivated strategies close what they hold
        known = stored_drift(conn)
        last_bars, holding_delisted = stored_last_bars(conn)
        before = previous_feed(conn)  # rows whose inputs are unchanged are reused
        active = [s.strategy_id for s in list_strategies(conn) if s.status == "active"]
        refused = check_each_on(conn, active)  # a model that looks ahead sits out
        for line in refused.values():
            summary.alerts.append(line)
            notify(f"hermes paper: {line}", {"step": "paper"}, success=False, logger=log)
        with as_of(conn, settings, snapshot) as reader:
            series = data_last_bars(reader, end=end)
            outside = unlisted(series)
            summary.unlisted = [f"{s}/{i}" for s, i in outside]
            skip = {*skip, *outside}
            work = Pending(series, last_bars, holding_delisted)
            feed = compute_feed(
                reader, snapshot=snapshot, now=now, skip=skip, stored=before, computed=computed
            )
            ledgers = closing_ledgers(
                reader, positions, snapshot=snapshot, end=end, waiting=summary.waiting
            ) + compute_ledgers(
                reader,
                snapshot=snapshot,
                end=end,
                waiting=summary.waiting,
                errors=summary.errors,
                skip=skip,
                wants=work.wants,
            )
            drifts = drift_rows(reader, ledgers, snapshot, known)
        feed += [row for key, row in before.items() if (key[1], key[2]) in skip]
        extension = extend_ledgers(conn, ledgers, snapshot=snapshot, errors=summary.errors)
        ledgers = [x for x in ledgers if (x.key[0], x.key[2], x.key[3]) in extension.added]
        drifts = [
            r for r in drifts if (r["strategy_id"], r["symbol"], r["interval"]) in extension.added
        ]
        ensure_paper_tables(conn)
        fresh = _new_drift(conn, drifts)
        if fresh:
            with transaction(conn):
                insert(conn, "gold_paper_drift", pa.Table.from_pylist(fresh))
        replace_feed(conn, feed)
        stored = ledger_copy(conn)
        extended = {key for key, (orders, bars) in extension.added.items() if orders or bars}
        with stored, as_of(conn, settings, snapshot) as reader:  # the stored ledger == backtest
            verdicts = verify_ledgers(stored, reader, snapshot=snapshot, only=extended)
    summary.verify = [v.line for v in verdicts]
    summary.alerts += [f"hermes paper verify: {v.line}" for v in verdicts if v.difference]
    summary.feed_rows = len(feed)
    summary.feed_computed = len(computed)
    summary.decisions = new_decisions(before, feed)
    summary.ledger_orders = extension.orders
    summary.ledger_bars = extension.bars
    summary.series = len(ledgers)
    summary.drift = [
        f"{r['strategy_id']} {r['symbol']} {r['interval']}: {r['status']} ({r['reason']})"
        for r in drifts
    ]
    for row in fresh:
        if row["status"] == "outside":
            text = (
                f"hermes drift alert: paper {row['strategy_id']} {row['symbol']} "
                f"{row['interval']} left its backtest band on {row['as_of']}: {row['reason']}"
            )
            summary.alerts.append(text)
            notify(text, {k: str(v) for k, v in row.items()}, success=False, logger=log)
    if write_files:
        files = write_feed_files(settings, feed)
        summary.files = [files.json, files.csv]
    return summary
