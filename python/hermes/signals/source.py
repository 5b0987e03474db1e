"""Where a backtest's signals come from, for any registered strategy and parameter sets.

One rule, so that every caller (single runs, portfolio, grid, walk-forward, A/B, the daily
flow, reproduction) gets the same signals for the same parameters at the same snapshot:

1. parameters equal to what the signal table was built with: the table ``gold_signals_<id>``;
2. otherwise, when the strategy has an accelerator (:mod:`hermes.signals.accelerators`): the
   accelerator on the feature store's columns (inputs the store lacks are computed from the
   whole price history), each input read or computed once for all parameter sets;
3. otherwise: the model's compiled SQL, evaluated in this process for each parameter set.

The accelerator and the SQL are tested equal to the table at the registry parameters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb
import numpy as np

from hermes.features.store import read_rows
from hermes.lake import DataError, table_columns
from hermes.signals.accelerators import Accelerator, accelerator_for
from hermes.signals.models import (
    SignalModel,
    compiled_sql,
    open_model,
    read_decisions,
    read_prices,
    read_prices_many,
    read_signals,
    read_signals_many,
)
from hermes.signals.registry import Strategy, canonical_json, validate_parameters
from hermes.signals.verdicts import LookaheadError, require_passed

TABLE, ACCELERATOR, SQL = "table", "accelerator", "sql"


@dataclass
class SeriesSignals:
    """One series' prices and signals: ``entries``/``exits`` are (n,) for one parameter set,
    (n, k) for k sets; ``flags``/``values`` (component flags, indicator values) only for one."""

    symbol: str
    interval: str
    open_time: np.ndarray
    prices: dict[str, np.ndarray]
    entries: np.ndarray
    exits: np.ndarray
    source: str
    flags: dict[str, np.ndarray] = field(default_factory=dict)
    values: dict[str, np.ndarray] = field(default_factory=dict)


def checked_source(
    conn: duckdb.DuckDBPyConnection, strategy: Strategy, prices_table: str
) -> tuple[Strategy, SignalSource] | None:
    """``strategy`` (with the parameters its model was built with) and its signal source, or
    None when its model was refused by the lookahead check (the caller's step names it)."""
    try:
        source = SignalSource(conn, strategy, prices_table)
    except LookaheadError:
        return None
    if source.built_parameters:
        strategy = strategy.with_parameters(source.built_parameters)
    return strategy, source


class SignalSource:
    """A strategy's signals on one connection (pinned to a snapshot by the caller)."""

    def __init__(
        self, conn: duckdb.DuckDBPyConnection, strategy: Strategy, prices_table: str
    ) -> None:
        self.conn = conn
        self.strategy = strategy
        self.prices_table = prices_table
        self.model: SignalModel = open_model(conn, strategy)
        require_passed(conn, self.model)  # a model that looks ahead is refused here
        self.accelerator = accelerator_for(strategy.strategy_id)
        self._sql: str | None = None
        self._prefetched: dict[tuple[datetime | None, str], dict[tuple[str, str], SeriesSignals]]
        self._prefetched = {}

    @property
    def built_parameters(self) -> dict[str, Any]:
        return self.model.built_parameters

    def source_for(self, parameters: dict[str, Any]) -> str:
        if parameters == self.model.built_parameters:
            return TABLE
        return ACCELERATOR if self.accelerator is not None else SQL

    def prefetch(
        self, pairs: Sequence[tuple[str, str]], *, end: datetime | None, parameters: dict[str, Any]
    ) -> None:
        """Read ``pairs`` together now (:meth:`many`: one query per table) for the
        :meth:`series` calls that follow with the same ``end`` and ``parameters``: a caller
        that goes series by series (a paper ledger, its check against the backtest) then does
        not query twice per series. Each prefetched series is handed out once, as a fresh
        read would be; a series not prefetched (or whose signals do not line up with the
        others') is read on its own, which names its problem."""
        if len(pairs) < 2 or self.source_for(parameters) != TABLE:
            return
        try:
            read = self.many(pairs, end=end, parameters=parameters)
        except DataError:
            return
        key = (end, canonical_json(parameters))
        self._prefetched.setdefault(key, {}).update(read)

    def series(
        self, symbol: str, interval: str, *, end: datetime | None, parameters: dict[str, Any]
    ) -> SeriesSignals:
        """Prices and the signals of one parameter set, every bar up to ``end``."""
        held = self._prefetched.get((end, canonical_json(parameters)), {})
        prefetched = held.pop((symbol, interval), None)
        if prefetched is not None:
            return prefetched
        prices = read_prices(self.conn, self.prices_table, symbol, interval, end=end)
        times = prices.pop("open_time")
        source = self.source_for(parameters)
        if source == ACCELERATOR:
            columns = self._accelerated(prices, times, symbol, interval, [parameters], end)[0]
        else:
            columns = read_signals(
                self.conn,
                self.model,
                times,
                symbol,
                interval,
                sql=self._compiled() if source == SQL else None,
                parameters=parameters,
            )
        entries, exits = columns.pop("buy_signal"), columns.pop("sell_signal")
        flags = {k: v for k, v in columns.items() if v.dtype == bool}
        values = {k: v for k, v in columns.items() if v.dtype != bool}
        return SeriesSignals(symbol, interval, times, prices, entries, exits, source, flags, values)

    def many(
        self,
        pairs: Sequence[tuple[str, str]],
        *,
        end: datetime | None,
        parameters: dict[str, Any],
        prices: Mapping[tuple[str, str], dict[str, np.ndarray]] | None = None,
    ) -> dict[tuple[str, str], SeriesSignals]:
        """:meth:`series` of several series (those with a bar before ``end``), each table
        read once for all of them when the signals come from the built table.

        ``prices``: the series' prices already read by :func:`read_prices_many` from this
        source's prices table with the same ``end`` (a caller reading several strategies'
        signals on the same series reads their prices once); left as they are."""
        if self.source_for(parameters) != TABLE:
            found = {p: self.series(*p, end=end, parameters=parameters) for p in pairs}
            return {p: one for p, one in found.items() if len(one.open_time)}
        if prices is None:
            prices = read_prices_many(self.conn, self.prices_table, pairs, end=end)
        wanted = set(pairs)
        prices = {p: dict(v) for p, v in prices.items() if p in wanted}  # popped below: copies
        times = {p: values.pop("open_time") for p, values in prices.items()}
        signals = read_signals_many(self.conn, self.model, times)
        out = {}
        for (symbol, interval), columns in signals.items():
            entries, exits = columns.pop("buy_signal"), columns.pop("sell_signal")
            out[(symbol, interval)] = SeriesSignals(
                symbol, interval, times[(symbol, interval)], prices[(symbol, interval)],
                entries, exits, TABLE,
                {k: v for k, v in columns.items() if v.dtype == bool},
                {k: v for k, v in columns.items() if v.dtype != bool},
            )  # fmt: skip
        return out

    def grids(
        self,
        pairs: Sequence[tuple[str, str]],
        *,
        end: datetime | None,
        parameter_sets: Sequence[dict[str, Any]],
    ) -> list[SeriesSignals]:
        """Prices and (n, k) entries/exits of each series, a column per parameter set.

        With SQL, one evaluation per parameter set serves every series.
        """
        sets = [validate_parameters(self.strategy, p) for p in parameter_sets]
        out = []
        for symbol, interval in pairs:
            prices = read_prices(self.conn, self.prices_table, symbol, interval, end=end)
            times = prices.pop("open_time")
            shape = (len(times), len(sets))
            out.append(
                SeriesSignals(
                    symbol,
                    interval,
                    times,
                    prices,
                    np.zeros(shape, dtype=bool),
                    np.zeros(shape, dtype=bool),
                    ACCELERATOR if self.accelerator is not None else SQL,
                )
            )
        if self.accelerator is not None:
            for series in out:
                flags = self._accelerated(
                    series.prices, series.open_time, series.symbol, series.interval, sets, end
                )
                for j, one in enumerate(flags):
                    series.entries[:, j] = one["buy_signal"]
                    series.exits[:, j] = one["sell_signal"]
        else:
            sql = self._compiled()
            index = {(s.symbol, s.interval): s for s in out}
            bars = {key: s.open_time for key, s in index.items()}
            for j, parameters in enumerate(sets):
                per_series = read_decisions(self.conn, self.model, bars, sql, parameters)
                for key, columns in per_series.items():
                    index[key].entries[:, j] = columns["buy_signal"]
                    index[key].exits[:, j] = columns["sell_signal"]
        return out

    def _compiled(self) -> str:
        if self._sql is None:
            self._sql = compiled_sql(self.conn, self.strategy)
        return self._sql

    def _accelerated(
        self,
        prices: dict[str, np.ndarray],
        times: np.ndarray,
        symbol: str,
        interval: str,
        sets: Sequence[dict[str, Any]],
        end: datetime | None,
    ) -> list[dict[str, np.ndarray]]:
        """The accelerator's flags and inputs per parameter set, from the store's columns."""
        rule = self.accelerator
        assert rule is not None
        held = set(table_columns(self.conn, self.prices_table))
        wanted = {c for p in sets for c in rule.feature_columns(p).values() if c in held}
        rows = read_rows(self.conn, self.prices_table, symbol, interval, sorted(wanted), end=end)
        stored = {c: rows[c] for c in wanted}
        return accelerate(rule, {"open_time": times, **prices}, stored, sets)


def accelerate(
    rule: Accelerator,
    ohlc: dict[str, np.ndarray],
    stored: dict[str, np.ndarray],
    sets: Sequence[dict[str, Any]],
) -> list[dict[str, np.ndarray]]:
    """``rule``'s flags and inputs for each parameter set over one whole series.

    ``stored`` holds feature-store columns by name; inputs whose column is not there are
    computed from ``ohlc`` (the whole history), each column once for all sets.
    """
    cache = dict(stored)
    out = []
    for parameters in sets:
        mapping = rule.feature_columns(parameters)
        missing = tuple(name for name, column in mapping.items() if column not in cache)
        if missing and len(ohlc["close"]):
            computed = rule.compute_inputs(ohlc, parameters, missing)
            cache.update({mapping[name]: computed[name] for name in missing})
        inputs = {name: cache[column] for name, column in mapping.items()}
        out.append({**rule.generate(inputs, parameters), **inputs})
    return out
