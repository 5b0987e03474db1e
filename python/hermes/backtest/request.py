"""What a backtest asks for, and the one opening step every kind of run shares.

Single runs, portfolios, grids, walk-forward, A/B, the daily flow and reproduction all open
a request the same way (:func:`open_request`): check the signal model for lookahead once per
compiled SQL (:mod:`hermes.signals.verdicts`), pin the lake to one DuckLake snapshot, load
the strategy from the registry at that snapshot (overrides validated), open its signal model
(built, contract satisfied) and select the series. Nothing is computed or written until the
whole request has been checked.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import duckdb

from hermes.backtest.config import BacktestConfig
from hermes.config import Settings
from hermes.features.store import FEATURE_STORE, select_series
from hermes.lake import DataError, at_snapshot, pinned
from hermes.signals.registry import Strategy, load_strategy
from hermes.signals.source import SignalSource
from hermes.signals.verdicts import ensure_checked


@dataclass(frozen=True)
class BacktestRequest:
    """A strategy on some series over a period, with parameter overrides and execution settings.

    ``symbols`` / ``intervals`` default to every series of ``features_table``; ``start`` is
    inclusive, ``end`` exclusive. Without ``overrides`` the run uses the parameters the
    strategy's signal table was built with (the registry's unless dbt vars changed them).
    """

    strategy_id: str
    symbols: list[str] | None = None
    intervals: list[str] | None = None
    start: datetime | None = None
    end: datetime | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    config: BacktestConfig = field(default_factory=BacktestConfig)
    features_table: str = FEATURE_STORE

    def __post_init__(self) -> None:
        if self.start is not None and self.end is not None and self.start >= self.end:
            raise DataError(f"empty period: start {self.start} is not before end {self.end}")


@dataclass(frozen=True)
class RunContext:
    """What a run records besides its bars: the strategy, how it trades, the lake snapshot and
    features table it read, its period and the signal model's SQL hash.

    Every kind of run (single, portfolio, reproduction, walk-forward fold, A/B variant, the
    daily flow's) simulates with one of these, so the same ten facts are never passed one by
    one; :meth:`but` derives a fold's or a variant's context.
    """

    strategy: Strategy
    config: BacktestConfig
    snapshot: int
    features_table: str = FEATURE_STORE
    period_start: datetime | None = None
    period_end: datetime | None = None
    signal_model_hash: str = ""
    run_kind: str = "single"

    def but(self, **changes: Any) -> RunContext:
        """This context with ``changes`` (e.g. a fold's strategy and period)."""
        return replace(self, **changes)


@dataclass
class Opened:
    """A request opened on the lake: everything a run reads, at one snapshot."""

    request: BacktestRequest
    reader: duckdb.DuckDBPyConnection
    snapshot: int
    strategy: Strategy
    signals: SignalSource
    pairs: list[tuple[str, str]]

    @property
    def context(self) -> RunContext:
        """The context of the request's runs (its period, the opened strategy and snapshot)."""
        request = self.request
        return RunContext(
            self.strategy,
            request.config,
            self.snapshot,
            request.features_table,
            request.start,
            request.end,
            self.signals.model.sql_hash,
        )


@contextmanager
def open_request(
    settings: Settings, request: BacktestRequest, *, snapshot: int | None = None
) -> Iterator[Opened]:
    """Pin the lake (its current snapshot, or ``snapshot``), load and check everything.

    A request on the current state first checks the strategy's model for lookahead (once per
    compiled SQL, recording the verdict); one at an earlier ``snapshot`` (reproduction, the
    daily flow, which checks first) writes nothing and refuses a model whose recorded verdict
    failed."""
    if snapshot is None:
        ensure_checked(settings, request.strategy_id)
        with pinned(settings) as (reader, current):
            yield open_on(request, reader, current)
    else:
        with at_snapshot(settings, snapshot) as reader:
            yield open_on(request, reader, snapshot)


def open_on(request: BacktestRequest, reader: duckdb.DuckDBPyConnection, snapshot: int) -> Opened:
    """:func:`open_request` on a ``reader`` already pinned at ``snapshot`` (the daily flow
    opens every strategy's request on one connection: each connection costs more than a
    strategy's reads), with no lookahead check (the caller checked first)."""
    strategy = load_strategy(request.strategy_id, request.overrides, reader)
    signals = SignalSource(reader, strategy, request.features_table)
    if not request.overrides and signals.built_parameters:
        strategy = strategy.with_parameters(signals.built_parameters)
    pairs = select_series(reader, request.symbols, request.intervals, request.features_table)
    return Opened(request, reader, snapshot, strategy, signals, pairs)
