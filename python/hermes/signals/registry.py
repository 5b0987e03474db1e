"""The strategy registry: the ``strategies`` dbt seed, read and validated.

A strategy is a registry row plus its signal model ``gold_signals_<strategy_id>``. The seed
(``seeds/strategies.csv``) is the source of truth; once ``dbt build`` has run it is also the
lake table ``strategies``. :func:`load_strategy` reads the lake table when a connection is
given (at that connection's snapshot) and the CSV otherwise, so validation never needs a lake.

Parameter rules are generic: an integer default makes an integer parameter, any other number
a float one, and ``parameter_ranges`` gives each its inclusive ``[minimum, maximum]``.
Rules that tie parameters together (e.g. a fast period below a slow one) belong to the
strategy's accelerator, if it has one (:mod:`hermes.signals.accelerators`), and are applied
here too.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field, replace
from typing import Any

import duckdb

from hermes.signals.accelerators import accelerator_for
from hermes.signals.errors import StrategyError
from hermes.signals.registry_file import (
    SAFE_ID_RULE,
    STATUSES,
    STRATEGY_ID_RE,
    check_registry,
)

__all__ = [
    "STATUSES",
    "Strategy",
    "StrategyError",
    "list_strategies",
    "load_strategy",
]

SIGNAL_MODEL_PREFIX = "gold_signals_"


def check_strategy_id(strategy_id: str) -> str:
    """``strategy_id`` if it is a safe identifier (it names a table); else StrategyError."""
    if not isinstance(strategy_id, str) or not STRATEGY_ID_RE.fullmatch(strategy_id):
        raise StrategyError(
            f"strategy id {strategy_id!r} is not a safe identifier ({SAFE_ID_RULE})"
        )
    return strategy_id


def signal_model(strategy_id: str) -> str:
    """The signal model (and lake table) of a strategy: ``gold_signals_<strategy_id>``."""
    return SIGNAL_MODEL_PREFIX + check_strategy_id(strategy_id)


def canonical_json(parameters: dict[str, Any]) -> str:
    """Parameters as canonical JSON (sorted keys, no spaces): what runs record and hash."""
    return json.dumps(parameters, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class Strategy:
    """One registry row with its parameters (registry defaults, then overrides)."""

    strategy_id: str
    name: str
    version: str
    parameters: dict[str, Any] = field(default_factory=dict)
    status: str = "active"
    parameter_ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    description: str = ""
    paper_since: str = ""
    """Paper trading: first day (``YYYY-MM-DD``, UTC) of the ledger; empty = not paper traded."""
    paper_capital: str = ""
    """Paper trading: starting cash of each series' ledger (empty = the backtest default)."""
    paper_config: str = ""
    """Paper trading: execution settings as JSON (:mod:`hermes.paper.activation`)."""

    @property
    def signal_model(self) -> str:
        return signal_model(self.strategy_id)

    def with_parameters(self, overrides: dict[str, Any] | None) -> Strategy:
        """A copy whose parameters are the defaults updated with ``overrides`` (validated)."""
        merged = {**self.defaults, **(overrides or {})}
        return replace(self, parameters=validate_parameters(self, merged))

    @property
    def parameters_json(self) -> str:
        """Canonical JSON of the parameters, the input of :attr:`parameters_hash`."""
        return canonical_json(self.parameters)

    @property
    def parameters_hash(self) -> str:
        return hashlib.sha256(self.parameters_json.encode()).hexdigest()[:16]

    @property
    def uses_defaults(self) -> bool:
        """Whether the parameters are the registry's (the signal table holds exactly these)."""
        return self.parameters == validate_parameters(self, self.defaults)


def check_value(strategy: Strategy, name: str, value: Any) -> int | float:
    """One parameter value, type and range checked (:class:`StrategyError` naming it)."""
    sid = strategy.strategy_id
    if name not in strategy.defaults:
        known = ", ".join(sorted(strategy.defaults))
        raise StrategyError(f"{sid}: unknown parameter {name} (has: {known})")
    default = strategy.defaults[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise StrategyError(f"{sid}: {name}={value!r} must be a number")
    if not math.isfinite(value):
        raise StrategyError(f"{sid}: {name}={value!r} must be a finite number")
    checked: int | float
    if isinstance(default, int) and not isinstance(default, bool):
        if not float(value).is_integer():
            raise StrategyError(f"{sid}: {name}={value!r} must be an integer")
        checked = int(value)
    else:
        checked = float(value)
    low, high = strategy.parameter_ranges.get(name, (-math.inf, math.inf))
    if not low <= checked <= high:
        raise StrategyError(f"{sid}: {name}={value!r} is outside its range [{low:g}, {high:g}]")
    return checked


def validate_parameters(strategy: Strategy, params: dict[str, Any]) -> dict[str, Any]:
    """Checked, normalised parameters; :class:`StrategyError` naming the strategy and value.

    Every parameter of the registry row must be given (and no other); each value is checked
    by :func:`check_value`, then the accelerator's rules between parameters apply.
    """
    unknown = sorted(set(params) - set(strategy.defaults))
    if unknown:
        known = ", ".join(sorted(strategy.defaults))
        raise StrategyError(
            f"{strategy.strategy_id}: unknown parameter(s) {', '.join(unknown)} (has: {known})"
        )
    out = {
        name: check_value(strategy, name, params.get(name, default))
        for name, default in strategy.defaults.items()
    }
    accelerator = accelerator_for(strategy.strategy_id)
    return accelerator.validate(out) if accelerator is not None else out


def _rows_from_csv() -> list[dict[str, str]]:
    return check_registry()


_LAKE_ROWS: dict[tuple[tuple[str, str | None], ...], list[dict[str, Any]]] = {}
"""Registry rows read from lakes, keyed by the parquet files that hold them.

DuckLake never rewrites a data file (a change writes new files under new names), so the list
of files behind ``strategies`` at a connection's snapshot names its rows exactly: a run that
asks for the registry at many snapshots (the build, the audit, paper trading, backtests,
reports) reads the table once, and a rebuilt seed (new files) is read again."""
_LAKE_ROWS_KEPT = 16


def _rows_from_lake(conn: duckdb.DuckDBPyConnection) -> list[dict[str, Any]] | None:
    """The ``strategies`` table of the connection's current database, None when it has none.

    On a DuckLake catalog the rows are read once per set of data files (:data:`_LAKE_ROWS`);
    rows kept in the catalog itself (data inlining, switched off by :mod:`hermes.lake`) and
    other databases (the live path's in-memory copy) are read every time."""
    kind = conn.execute(
        "select database_name, type from duckdb_databases() "
        "where database_name = current_database()"
    ).fetchone()
    if kind is None or kind[1] != "ducklake":
        return _read_rows(conn) if _has_strategies(conn) else None
    try:
        files = conn.execute(
            "select data_file, delete_file from ducklake_list_files(?, 'strategies') "
            "order by data_file",
            [kind[0]],
        ).fetchall()
    except duckdb.CatalogException:  # no such table: nothing built yet
        return None
    key = tuple((str(data), None if delete is None else str(delete)) for data, delete in files)
    if not key:  # rows inlined in the catalog: no file names them
        return _read_rows(conn)
    if key not in _LAKE_ROWS:
        while len(_LAKE_ROWS) >= _LAKE_ROWS_KEPT:
            _LAKE_ROWS.pop(next(iter(_LAKE_ROWS)))
        _LAKE_ROWS[key] = _read_rows(conn)
    return [dict(row) for row in _LAKE_ROWS[key]]


def _has_strategies(conn: duckdb.DuckDBPyConnection) -> bool:
    exists = conn.execute(
        "select count(*) from information_schema.tables "
        "where table_catalog = current_database() and table_name = 'strategies'"
    ).fetchone()
    return bool(exists and exists[0])


def _read_rows(conn: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Every row of the ``strategies`` table (the one read the cache saves)."""
    cursor = conn.execute("select * from strategies order by strategy_id")
    columns = [d[0] for d in cursor.description or []]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def _strategy(row: dict[str, Any]) -> Strategy:
    strategy_id = check_strategy_id(row["strategy_id"])
    try:
        defaults = json.loads(row["parameters"])
        ranges = json.loads(row.get("parameter_ranges") or "{}")
    except json.JSONDecodeError as exc:
        raise StrategyError(
            f"{strategy_id}: registry parameters are not valid JSON: {exc}"
        ) from exc
    strategy = Strategy(
        strategy_id=strategy_id,
        name=row["name"],
        version=row["version"],
        parameters=defaults,
        status=row.get("status") or "active",
        parameter_ranges={k: (float(v[0]), float(v[1])) for k, v in ranges.items()},
        defaults=defaults,
        tags=tuple(t for t in (row.get("tags") or "").split("|") if t),
        description=row.get("description") or "",
        paper_since=str(row.get("paper_since") or ""),
        paper_capital=str(row.get("paper_capital") or ""),
        paper_config=str(row.get("paper_config") or ""),
    )
    return strategy  # validated when loaded (a bad row does not block the others)


def list_strategies(conn: duckdb.DuckDBPyConnection | None = None) -> list[Strategy]:
    """Every registry row (lake table if ``conn`` holds it, else the seed CSV)."""
    rows = (_rows_from_lake(conn) if conn is not None else None) or _rows_from_csv()
    return strategies_of(rows)


def strategies_of(rows: list[dict[str, Any]]) -> list[Strategy]:
    """The strategies of registry rows already read (e.g. a copy of the ``strategies`` table)."""
    return [_strategy(row) for row in rows]


def load_strategy(
    strategy_id: str,
    overrides: dict[str, Any] | None = None,
    conn: duckdb.DuckDBPyConnection | None = None,
) -> Strategy:
    """The registry's ``strategy_id`` with ``overrides`` applied; raises :class:`StrategyError`."""
    check_strategy_id(strategy_id)
    strategies = {s.strategy_id: s for s in list_strategies(conn)}
    if strategy_id not in strategies:
        known = ", ".join(sorted(strategies)) or "none"
        raise StrategyError(f"unknown strategy {strategy_id!r} (registry has: {known})")
    return strategies[strategy_id].with_parameters(overrides)


def active_strategies(conn: duckdb.DuckDBPyConnection | None = None) -> list[str]:
    """Ids of the registry's ``active`` strategies (what the daily flow backtests)."""
    return [s.strategy_id for s in list_strategies(conn) if s.status == "active"]
