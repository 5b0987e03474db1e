"""The strategy registry: the ``strategies`` dbt seed, read and validated.

The seed (``seeds/strategies.csv``) is the source of truth. Once ``dbt build`` has run it is
also the lake table ``strategies``; :func:`load_strategy` reads the lake table when a
connection is given and the CSV otherwise, so validation never needs a lake.
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import duckdb

from hermes.config import PROJECT_ROOT

SEED_FILE = PROJECT_ROOT / "seeds" / "strategies.csv"


class StrategyError(ValueError):
    """Unknown strategy, or parameters outside their allowed range."""


@dataclass(frozen=True)
class Strategy:
    """One registry row with its parameters (registry defaults, then overrides)."""

    strategy_id: str
    name: str
    version: str
    parameters: dict[str, Any] = field(default_factory=dict)
    status: str = "active"

    def with_parameters(self, overrides: dict[str, Any] | None) -> Strategy:
        """A copy whose parameters are these defaults updated with ``overrides`` (validated)."""
        from hermes.signals.rules import rule_for

        merged = {**self.parameters, **(overrides or {})}
        params = rule_for(self.strategy_id).validate(merged)
        return Strategy(self.strategy_id, self.name, self.version, params, self.status)

    @property
    def parameters_json(self) -> str:
        """Canonical JSON of the parameters (sorted keys), the input of :attr:`parameters_hash`."""
        return json.dumps(self.parameters, sort_keys=True, separators=(",", ":"))

    @property
    def parameters_hash(self) -> str:
        return hashlib.sha256(self.parameters_json.encode()).hexdigest()[:16]


def _rows_from_csv() -> list[dict[str, str]]:
    with open(SEED_FILE, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _rows_from_lake(conn: duckdb.DuckDBPyConnection) -> list[dict[str, str]] | None:
    exists = conn.execute(
        "select count(*) from information_schema.tables "
        "where table_catalog = current_database() and table_name = 'strategies'"
    ).fetchone()
    if not exists or not exists[0]:
        return None
    cursor = conn.execute(
        "select strategy_id, name, version, parameters, status from strategies order by strategy_id"
    )
    columns = [d[0] for d in cursor.description or []]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def list_strategies(conn: duckdb.DuckDBPyConnection | None = None) -> list[Strategy]:
    """Every registry row (lake table if ``conn`` holds it, else the seed CSV)."""
    rows = (_rows_from_lake(conn) if conn is not None else None) or _rows_from_csv()
    return [
        Strategy(
            strategy_id=row["strategy_id"],
            name=row["name"],
            version=row["version"],
            parameters=json.loads(row["parameters"]),
            status=row.get("status") or "active",
        )
        for row in rows
    ]


def load_strategy(
    strategy_id: str,
    overrides: dict[str, Any] | None = None,
    conn: duckdb.DuckDBPyConnection | None = None,
) -> Strategy:
    """The registry's ``strategy_id`` with ``overrides`` applied; raises :class:`StrategyError`."""
    strategies = {s.strategy_id: s for s in list_strategies(conn)}
    if strategy_id not in strategies:
        known = ", ".join(sorted(strategies)) or "none"
        raise StrategyError(f"unknown strategy {strategy_id!r} (registry has: {known})")
    return strategies[strategy_id].with_parameters(overrides)
