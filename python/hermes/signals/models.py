"""A strategy's dbt signal model, as backtests read it: its table, or its compiled SQL.

Every model ``gold_signals_<strategy_id>`` satisfies one contract (:data:`CONTRACT`,
enforced at build time by the ``signal_contract()`` post-hook, checked again here before a
backtest reads it). The build also records each model's compiled SQL in
``hermes_signal_models``; evaluating that SQL with the DuckDB variable ``hermes_parameters``
set gives the model's signals for other parameters, in this process and at the snapshot the
connection reads (see ``macros/strategies/strategy_parameters.sql``). Parameters a model
compiles into its SQL refuse other values there with a clear error.

Signals are always returned joined to the prices of a feature table, bar for bar: a price
bar without its signal row is an error naming the strategy, the model and the bar.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)

from hermes.config import LAKE_ALIAS
from hermes.features.store import OHLCV, read_rows
from hermes.lake import DataError, identifier, table_types
from hermes.signals.errors import StrategyError
from hermes.signals.registry import Strategy, canonical_json, validate_parameters

CONTRACT = {
    "strategy_id": "VARCHAR",
    "strategy_version": "VARCHAR",
    "parameters": "VARCHAR",
    "symbol": "VARCHAR",
    "interval": "VARCHAR",
    "open_time": "TIMESTAMP",
    "buy_signal": "BOOLEAN",
    "sell_signal": "BOOLEAN",
}
"""Columns every signal model has (``macros/strategies/signal_contract_columns.sql``)."""
SIGNAL_MODELS_TABLE = "hermes_signal_models"
NUMERIC = (
    "DOUBLE",
    "FLOAT",
    "REAL",
    "DECIMAL",
    "BIGINT",
    "INTEGER",
    "SMALLINT",
    "TINYINT",
    "HUGEINT",
)


@dataclass(frozen=True)
class SignalModel:
    """A built signal model: its columns beyond the contract, and what it was built with."""

    strategy_id: str
    table: str
    flags: tuple[str, ...]
    """Boolean component columns (e.g. ``ema_cross``)."""
    values: tuple[str, ...]
    """Numeric columns: the indicator values the strategy decides on (e.g. ``ema_fast``)."""
    built_parameters: dict[str, Any] = field(default_factory=dict)
    sql_hash: str = ""


def open_model(conn: duckdb.DuckDBPyConnection, strategy: Strategy) -> SignalModel:
    """The strategy's built model, checked against the contract; errors name strategy and model."""
    table = strategy.signal_model
    where = f"strategy {strategy.strategy_id}: signal model {table}"
    try:
        types = table_types(conn, table)
    except DataError as exc:
        raise DataError(
            f"{where} was never built (run `dbt build --select {table}` or `hermes build`)"
        ) from exc
    for name, dtype in CONTRACT.items():
        if name not in types:
            raise DataError(f"{where}: column {name} is missing")
        if types[name].upper() != dtype:
            raise DataError(f"{where}: column {name} is {types[name]}, expected {dtype}")
    extra = [c for c in types if c not in CONTRACT and c != "close"]
    flags = tuple(c for c in extra if types[c].upper() == "BOOLEAN")
    values = tuple(c for c in extra if types[c].upper().split("(")[0] in NUMERIC)
    built = conn.execute(  # validated identifier
        f"select distinct parameters from {identifier(table)} limit 2"  # noqa: S608
    ).fetchall()
    if len(built) > 1:
        raise DataError(f"{where}: column parameters holds more than one parameter set")
    parameters = validate_parameters(strategy, json.loads(built[0][0])) if built else {}
    return SignalModel(
        strategy.strategy_id, table, flags, values, parameters, _sql_hash(conn, strategy)
    )


def _sql_hash(conn: duckdb.DuckDBPyConnection, strategy: Strategy) -> str:
    row = _latest_sql(conn, strategy)
    return row[1] if row else ""


def _latest_sql(conn: duckdb.DuckDBPyConnection, strategy: Strategy) -> tuple[str, str] | None:
    try:
        row = conn.execute(  # constant table name, bound values
            f"select compiled_sql, sql_hash from {SIGNAL_MODELS_TABLE} "  # noqa: S608
            "where strategy_id = ? order by built_at desc limit 1",
            [strategy.strategy_id],
        ).fetchone()
    except duckdb.CatalogException:
        return None
    return (str(row[0]), str(row[1])) if row else None


_RELATION = re.compile(rf'"{LAKE_ALIAS}"\."main"\."([a-z_][a-z0-9_]*)"')
_COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)


def tables_read(sql: str) -> set[str]:
    """The lake tables a model's compiled SQL reads, its comments left out (an incremental
    signal model's ``-- depends_on:`` line names silver_klines, which its SQL never reads)."""
    return set(_RELATION.findall(_COMMENT.sub(" ", sql)))


def compiled_sql(conn: duckdb.DuckDBPyConnection, strategy: Strategy) -> str:
    """The model's SQL as its last build compiled it (at the connection's snapshot)."""
    row = _latest_sql(conn, strategy)
    if row is None:
        raise DataError(
            f"strategy {strategy.strategy_id}: no compiled SQL recorded for "
            f"{strategy.signal_model} (rebuild it: `dbt build --select {strategy.signal_model}`)"
        )
    return row[0]


def read_prices(
    conn: duckdb.DuckDBPyConnection,
    prices_table: str,
    symbol: str,
    interval: str,
    *,
    end: datetime | None,
) -> dict[str, np.ndarray]:
    """``open_time`` and OHLCV of one series up to ``end`` (exclusive), ordered by time."""
    return read_rows(conn, prices_table, symbol, interval, list(OHLCV), end=end)


def read_signals(
    conn: duckdb.DuckDBPyConnection,
    model: SignalModel,
    open_time: np.ndarray,
    symbol: str,
    interval: str,
    *,
    sql: str | None = None,
    parameters: dict[str, Any] | None = None,
) -> dict[str, np.ndarray]:
    """The model's signal columns aligned on ``open_time`` (the prices' bars).

    From the built table, or, with ``sql``, from the compiled SQL evaluated with
    ``parameters``. Missing or extra bars raise :class:`DataError` naming the first one.
    """
    columns = ["open_time", "buy_signal", "sell_signal", *model.flags, *model.values]
    selected = ", ".join(identifier(c) for c in columns)
    if sql is None:
        relation = identifier(model.table)
    else:
        relation = f"({sql})"
        conn.execute("set variable hermes_parameters = ?", [canonical_json(parameters or {})])
    last = open_time[-1].astype(datetime) if len(open_time) else None
    try:
        arrow = conn.execute(  # validated identifiers / the model's own compiled SQL
            f"select {selected} from {relation} as signals "  # noqa: S608
            "where symbol = ? and interval = ? and open_time <= ? order by open_time",
            [symbol, interval, last],
        ).to_arrow_table()
    except duckdb.InvalidInputException as exc:
        # the model's own error(): a compiled-in parameter given another value
        message = str(exc).split("Error: ", 1)[-1]
        raise StrategyError(message) from exc
    finally:
        if sql is not None:
            conn.execute("reset variable hermes_parameters")
    return _aligned(arrow, open_time, model, symbol, interval)


def read_decisions(
    conn: duckdb.DuckDBPyConnection,
    model: SignalModel,
    series: dict[tuple[str, str], np.ndarray],
    sql: str,
    parameters: dict[str, Any],
) -> dict[tuple[str, str], dict[str, np.ndarray]]:
    """``buy_signal``/``sell_signal`` of several series from one evaluation of the model's SQL.

    ``series`` maps (symbol, interval) to the prices' ``open_time``; the rows of each are
    aligned on it as :func:`read_signals` does. One query per parameter set, whatever the
    number of series (the filters on symbol and interval reach the model's windows).
    """
    symbols = sorted({s for s, _ in series})
    intervals = sorted({i for _, i in series})
    marks = lambda values: ", ".join("?" for _ in values)  # noqa: E731
    conn.execute("set variable hermes_parameters = ?", [canonical_json(parameters)])
    try:
        arrow = conn.execute(  # the model's own compiled SQL; bound values
            "select symbol, interval, open_time, buy_signal, sell_signal "  # noqa: S608
            f"from ({sql}) as signals where symbol in ({marks(symbols)}) "
            f"and interval in ({marks(intervals)}) order by symbol, interval, open_time",
            [*symbols, *intervals],
        ).to_arrow_table()
    except duckdb.InvalidInputException as exc:
        raise StrategyError(str(exc).split("Error: ", 1)[-1]) from exc
    finally:
        conn.execute("reset variable hermes_parameters")
    return _aligned_each(arrow, series, model)


def read_prices_many(
    conn: duckdb.DuckDBPyConnection,
    prices_table: str,
    pairs: Sequence[tuple[str, str]],
    *,
    end: datetime | None,
) -> dict[tuple[str, str], dict[str, np.ndarray]]:
    """:func:`read_prices` of several series in one query: (symbol, interval) -> its
    ``open_time`` and OHLCV up to ``end`` (exclusive); a series without a bar is left out."""
    columns = "".join(f", cast({c} as double) as {c}" for c in OHLCV)
    arrow = _many(conn, prices_table, f"open_time{columns}", pairs, end)
    wanted, out = set(pairs), {}
    for key, part in _split(arrow).items():
        if key in wanted:
            values = {name: part.column(name).to_numpy() for name in part.column_names}
            values["open_time"] = values["open_time"].astype("datetime64[us]")
            out[key] = values
    return out


def read_signals_many(
    conn: duckdb.DuckDBPyConnection,
    model: SignalModel,
    series: dict[tuple[str, str], np.ndarray],
) -> dict[tuple[str, str], dict[str, np.ndarray]]:
    """:func:`read_signals` from the built table for several series in one query (each
    aligned on its prices' ``open_time``, given by (symbol, interval))."""
    columns = ["open_time", "buy_signal", "sell_signal", *model.flags, *model.values]
    selected = ", ".join(identifier(c) for c in columns)
    last = max((t[-1] for t in series.values() if len(t)), default=None)
    end = None if last is None else last.astype(datetime) + timedelta(microseconds=1)
    return _aligned_each(_many(conn, model.table, selected, list(series), end), series, model)


def _many(
    conn: duckdb.DuckDBPyConnection,
    table: str,
    selected: str,
    pairs: Sequence[tuple[str, str]],
    end: datetime | None,
) -> pa.Table:
    """``selected`` columns of ``table`` (after symbol and interval) for the symbols and
    intervals of ``pairs``, before ``end``, ordered by series and time."""
    symbols = sorted({s for s, _ in pairs})
    intervals = sorted({i for _, i in pairs})
    before, params = ("and open_time < ?", [end]) if end is not None else ("", [])
    return conn.execute(  # validated identifiers; bound values
        f"select symbol, interval, {selected} from {identifier(table)} "  # noqa: S608
        "where list_contains(?::varchar[], symbol) and list_contains(?::varchar[], interval) "
        f"{before} order by symbol, interval, open_time",
        [symbols, intervals, *params],
    ).to_arrow_table()


def _split(arrow: pa.Table) -> dict[tuple[str, str], pa.Table]:
    """Rows ordered by (symbol, interval) split by series, without those two columns."""
    symbols = arrow.column("symbol").to_numpy(zero_copy_only=False)
    intervals = arrow.column("interval").to_numpy(zero_copy_only=False)
    if not len(symbols):
        return {}
    changes = (symbols[1:] != symbols[:-1]) | (intervals[1:] != intervals[:-1])
    starts = np.flatnonzero(np.r_[True, changes])
    ends = [*starts[1:], len(symbols)]
    body = arrow.drop_columns(["symbol", "interval"])
    return {
        (str(symbols[a]), str(intervals[a])): body.slice(a, b - a)
        for a, b in zip(starts, ends, strict=True)
    }


def _aligned_each(
    arrow: pa.Table, series: dict[tuple[str, str], np.ndarray], model: SignalModel
) -> dict[tuple[str, str], dict[str, np.ndarray]]:
    """Each series' rows of ``arrow`` (ordered by series and time) aligned on its bars."""
    parts = _split(arrow)
    empty = arrow.drop_columns(["symbol", "interval"]).slice(0, 0)
    out = {}
    for (symbol, interval), open_time in series.items():
        part = parts.get((symbol, interval), empty)
        if len(open_time):
            part = part.filter(pa.compute.less_equal(part.column("open_time"), open_time[-1]))
        out[(symbol, interval)] = _aligned(part, open_time, model, symbol, interval)
    return out


def _aligned(
    arrow: pa.Table, open_time: np.ndarray, model: SignalModel, symbol: str, interval: str
) -> dict[str, np.ndarray]:
    times = arrow.column("open_time").to_numpy().astype("datetime64[us]")
    if len(times) != len(open_time) or not np.array_equal(times, open_time):
        missing = np.setdiff1d(open_time, times)
        extra = np.setdiff1d(times, open_time)
        what = (
            f"has no row for the {symbol} {interval} bar {missing[0]}"
            if len(missing)
            else f"has a row for {symbol} {interval} {extra[0]} that the prices lack"
        )
        raise DataError(
            f"strategy {model.strategy_id}: signal model {model.table} {what} "
            f"(rebuild it: `dbt build --select {model.table}`)"
        )
    out: dict[str, np.ndarray] = {}
    for name in arrow.column_names:
        if name == "open_time":
            continue
        column = arrow.column(name)
        if name in model.flags:
            out[name] = column.fill_null(False).to_numpy(zero_copy_only=False).astype(bool)
        elif name in ("buy_signal", "sell_signal"):
            if column.null_count:
                raise DataError(
                    f"strategy {model.strategy_id}: signal model {model.table}: column {name} "
                    f"is NULL on {column.null_count} {symbol} {interval} bars"
                )
            out[name] = column.to_numpy(zero_copy_only=False).astype(bool)
        else:
            out[name] = column.cast(pa.float64()).to_numpy(zero_copy_only=False)
    return out
