"""The universe of traded pairs: the dbt seed ``seeds/universe.csv``, or the CSV file (same
columns) that ``HERMES_UNIVERSE`` names (the setting :attr:`hermes.config.Settings.universe`),
read here and nowhere else (:func:`universe_csv`).

One reader for everything that needs the list of symbols: the daily refresh's and the
deployment's defaults (:mod:`hermes.flows.changes`, :mod:`hermes.cli.jobs`), the series the
daily job backtests and paper trades (:func:`lists`; a series the lake holds but the universe
does not list is left out and named in the run's summary), the freshness checks
(:mod:`hermes.quality.frames`: a delisted pair leaves them from its delisting date on) and
whoever lists the pairs: the research site's sections, ``hermes backtest`` and ``hermes live``
(:func:`listed_series`). The seed is also loaded into the lake by ``dbt seed`` (table
``universe``); dbt's ``silver_universe`` holds the series of the file in force, the rows
:func:`listed_series` returns. A delisted pair keeps its history in the lake.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path

from hermes.config import UNIVERSE_COLUMNS as COLUMNS
from hermes.config import Settings
from hermes.intervals import interval_table

UNIVERSE_ENV = "HERMES_UNIVERSE"
_SYMBOL = re.compile(r"[A-Z0-9]{2,20}")


class UniverseError(ValueError):
    """A row of the universe seed is malformed (named with the file, row and field)."""


@dataclass(frozen=True)
class Listing:
    """One pair of the universe."""

    symbol: str
    intervals: tuple[str, ...]
    listed_on: date
    delisted_on: date | None
    status: str

    def trades_on(self, day: date) -> bool:
        """Whether the pair is listed on ``day`` (listed, and not yet delisted)."""
        return self.listed_on <= day and (self.delisted_on is None or day < self.delisted_on)


def _day(path: Path, line: int, field: str, text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UniverseError(
            f"{path}: row {line}: {field} {text!r} is not a YYYY-MM-DD date"
        ) from None


def universe_csv() -> Path:
    """The universe file in force: the setting ``HERMES_UNIVERSE`` (a CSV with the seed's
    columns, e.g. a benchmark's synthetic pairs; :class:`hermes.config.Settings` checks it),
    else the seed :data:`UNIVERSE_CSV`."""
    return Settings.from_env().universe


def load_universe(path: Path | None = None) -> tuple[Listing, ...]:
    """Every listing of ``path`` (default :func:`universe_csv`), in file order;
    :class:`UniverseError` on a bad row (or a missing file)."""
    return _read(path or universe_csv())


@cache
def _read(path: Path) -> tuple[Listing, ...]:
    try:
        handle = path.open(newline="")
    except OSError as exc:
        raise UniverseError(f"{path} ({UNIVERSE_ENV}): {exc.strerror or exc}") from None
    with handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise UniverseError(f"{path}: columns must be {', '.join(COLUMNS)}")
        listings = []
        rows: dict[str, int] = {}
        for line, row in enumerate(reader, start=2):
            if None in row or None in row.values():  # too many fields, or too few
                raise UniverseError(f"{path}: row {line}: {len(COLUMNS)} fields expected")
            symbol = row["symbol"]
            if not _SYMBOL.fullmatch(symbol):
                raise UniverseError(f"{path}: row {line}: symbol {symbol!r} is not a pair name")
            if symbol in rows:
                raise UniverseError(f"{path}: row {line}: {symbol} is listed on row {rows[symbol]}")
            rows[symbol] = line
            intervals = tuple(i for i in row["intervals"].split("|") if i)
            unknown = [i for i in intervals if i not in interval_table()]
            if unknown:
                raise UniverseError(
                    f"{path}: row {line}: interval {unknown[0]!r} is not one the lake accepts "
                    f"({', '.join(interval_table())})"
                )
            delisted = row["delisted_on"] or None
            status = row["status"]
            if status != ("delisted" if delisted else "active"):
                raise UniverseError(
                    f"{path}: row {line}: status {status!r} does not match delisted_on "
                    f"{delisted or '(empty)'}"
                )
            listings.append(
                Listing(
                    symbol=symbol,
                    intervals=intervals,
                    listed_on=_day(path, line, "listed_on", row["listed_on"]),
                    delisted_on=None
                    if delisted is None
                    else _day(path, line, "delisted_on", delisted),
                    status=status,
                )
            )
    return tuple(listings)


def active_symbols(on: date | None = None) -> list[str]:
    """Pairs still traded (on ``on``, when given): the daily refresh's default symbols."""
    return [
        x.symbol
        for x in load_universe()
        if (x.delisted_on is None if on is None else x.trades_on(on))
    ]


def universe_intervals() -> list[str]:
    """Every interval of an active pair, in first-seen order: the default intervals."""
    seen = dict.fromkeys(i for x in load_universe() if x.delisted_on is None for i in x.intervals)
    return list(seen)


def delistings() -> dict[str, date]:
    """Delisted pair -> its delisting day."""
    return {x.symbol: x.delisted_on for x in load_universe() if x.delisted_on is not None}


def delisted_on(symbol: str, now: datetime | None = None) -> date | None:
    """``symbol``'s delisting day once ``now`` (default: the current UTC time) is past its
    midnight (its last traded bar is then known), else ``None``."""
    day = delistings().get(symbol)
    if day is None:
        return None
    now = now or datetime.now(UTC).replace(tzinfo=None)
    return day if now > datetime(day.year, day.month, day.day) else None


def lists(symbol: str, interval: str) -> bool:
    """Whether the universe lists ``interval`` for ``symbol``: only such series are
    backtested, paper traded and shown on the research site by the daily job."""
    return any(x.symbol == symbol and interval in x.intervals for x in load_universe())


def listed_series() -> list[tuple[str, str]]:
    """Every (symbol, interval) the universe lists, delisted pairs included, sorted: the
    series :func:`lists` accepts (and the rows of dbt's ``silver_universe``)."""
    return sorted({(x.symbol, i) for x in load_universe() for i in x.intervals})


def unlisted(series: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The (symbol, interval) ``series`` the universe does not list, sorted."""
    return sorted({(s, i) for s, i in series if not lists(s, i)})
