"""The registry file ``seeds/strategies.csv``, read and checked before anything uses it.

dbt loads the file as the ``strategies`` seed and every signal model reads it; a mistake in
it (a row missing a column, invalid JSON, an id holding SQL characters) would otherwise end
in DuckDB's multi-line CSV hints or a ``Conversion Error`` from some model. Here each
mistake is one line naming the file, the line, the row's strategy and the field:

    seeds/strategies.csv line 6 (strategy 'peek'): parameters is not valid JSON: Expecting
    ',' delimiter at char 14

:func:`check_registry` runs before ``dbt build``/``run``/``seed`` (:func:`hermes.dbt_runner.
run_dbt`, the dbt plugin for dbt run by hand) and before the flows of ``hermes run``,
``refresh`` and ``backfill``; :mod:`hermes.signals.registry` reads its rows through it.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

from hermes.config import PROJECT_ROOT
from hermes.signals.errors import StrategyError

SEED_FILE = PROJECT_ROOT / "seeds" / "strategies.csv"
COLUMNS: tuple[str, ...] = (
    "strategy_id",
    "name",
    "version",
    "parameters",
    "parameter_ranges",
    "description",
    "tags",
    "status",
    "paper_since",
    "paper_capital",
    "paper_config",
)
"""The registry's columns (the file's header names each once, in any order)."""
JSON_COLUMNS: tuple[str, ...] = ("parameters", "parameter_ranges", "paper_config")
"""Columns holding a JSON object (``paper_config`` may be empty: not paper traded)."""
OPTIONAL_JSON = frozenset({"paper_config"})
STATUSES: tuple[str, ...] = ("active", "experimental", "retired")
STRATEGY_ID_RE = re.compile(r"[a-z][a-z0-9_]{0,62}")
"""A strategy id names a table (``gold_signals_<id>``): a safe identifier of 63 characters
at most, so it never needs quoting in SQL."""
SAFE_ID_RULE = "lower-case letters, digits and underscores, starting with a letter"
_SHOWN_CHARS = 60
"""Longest value quoted in a message."""


class RegistryError(StrategyError):
    """A registry file that cannot be used (the message names the line and the field)."""


def shown(value: str) -> str:
    """``value`` quoted for a message, cut to :data:`_SHOWN_CHARS` characters."""
    return repr(value if len(value) <= _SHOWN_CHARS else value[:_SHOWN_CHARS] + "...")


def check_registry(path: Path | None = None) -> list[dict[str, str]]:
    """The rows of the registry file at ``path`` (default: :data:`SEED_FILE`), each checked;
    :class:`RegistryError` naming the first mistake otherwise."""
    path = path or SEED_FILE
    label = _label(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise RegistryError(f"{label}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise RegistryError(f"{label}: not UTF-8 text (byte offset {exc.start})") from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise RegistryError(f"{label}: the file is empty (expected the header line)")
        names = _check_header(header, label)
        rows: list[dict[str, str]] = []
        first_line: dict[str, int] = {}
        for fields in reader:
            line = reader.line_num
            if not any(field.strip() for field in fields):
                continue  # blank line
            row = _check_row(names, fields, line, label)
            strategy_id = row["strategy_id"]
            if strategy_id in first_line:
                raise RegistryError(
                    f"{label} line {line} (strategy {strategy_id!r}): strategy_id repeats "
                    f"line {first_line[strategy_id]}"
                )
            first_line[strategy_id] = line
            rows.append(row)
    except csv.Error as exc:
        raise RegistryError(f"{label} line {reader.line_num}: not valid CSV: {exc}") from None
    return rows


def _label(path: Path) -> str:
    """``seeds/strategies.csv`` for the project's file, the full path for any other."""
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def _check_header(header: list[str], label: str) -> list[str]:
    """The column names of the header line (any order), each of :data:`COLUMNS` once."""
    names = [name.strip() for name in header]
    missing = [name for name in COLUMNS if name not in names]
    extra = [name for name in names if name not in COLUMNS]
    repeated = sorted({name for name in names if names.count(name) > 1})
    problems = []
    if missing:
        problems.append(f"missing column(s) {', '.join(missing)}")
    if extra:
        problems.append(f"unexpected column(s) {', '.join(shown(n) for n in extra)}")
    if repeated:
        problems.append(f"repeated column(s) {', '.join(repeated)}")
    if problems:
        raise RegistryError(
            f"{label} line 1 (header): {'; '.join(problems)} (expected: {','.join(COLUMNS)})"
        )
    return names


def _check_row(names: list[str], fields: list[str], line: int, label: str) -> dict[str, str]:
    """One data line as ``column -> value``, checked field by field in the file's order."""
    first = fields[names.index("strategy_id")].strip() if len(fields) == len(names) else ""
    first = first or (fields[0].strip() if fields else "")
    where = f"{label} line {line} (strategy {shown(first)})"
    if len(fields) != len(names):
        raise RegistryError(
            f"{where}: {len(fields)} fields, expected {len(COLUMNS)} (a missing field, or a "
            "comma outside double quotes)"
        )
    row = dict(zip(names, fields, strict=True))
    if not STRATEGY_ID_RE.fullmatch(row["strategy_id"]):
        raise RegistryError(
            f"{where}: strategy_id {shown(row['strategy_id'])} is not a safe identifier "
            f"({SAFE_ID_RULE}, at most 63 characters)"
        )
    for column in ("name", "version"):
        if not row[column].strip():
            raise RegistryError(f"{where}: {column} is empty")
    for column in JSON_COLUMNS:
        value = row[column]
        if column in OPTIONAL_JSON and not value.strip():
            continue
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError as exc:
            raise RegistryError(
                f"{where}: {column} is not valid JSON: {exc.msg} at char {exc.pos} ({shown(value)})"
            ) from None
        if not isinstance(parsed, dict):
            raise RegistryError(f"{where}: {column} is not a JSON object ({shown(value)})")
    if row["status"] not in STATUSES:
        raise RegistryError(
            f"{where}: status {shown(row['status'])} is not one of {', '.join(STATUSES)}"
        )
    return row
