"""Names and places: Binance archive names, landing paths and download URLs.

Every symbol, interval and date is checked against a strict pattern here, before it can
reach SQL, a file path or a URL. A name that does not pass raises :class:`NameError_`.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from hermes.intervals import interval_table

SYMBOL_RE = re.compile(r"[A-Z0-9]{2,20}")
"""Binance spot symbols: upper-case letters and digits, e.g. ``BTCUSDT``."""

INTERVAL_SECONDS: dict[str, int] = interval_table()
"""Candle intervals the lake accepts and their length (:mod:`hermes.intervals`)."""

INTERVALS: tuple[str, ...] = tuple(INTERVAL_SECONDS)

PERIODS: tuple[str, ...] = ("monthly", "daily")
PROVIDER = "binance"
MARKET = "spot"

_MONTH_RE = re.compile(r"(\d{4})-(\d{2})")
_DAY_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_ARCHIVE_RE = re.compile(r"(?P<symbol>[^-]*)-(?P<interval>[^-]*)-(?P<date>.*)\.zip")
_CSV_RE = re.compile(r"(?P<symbol>[^_]*)_(?P<interval>[^.]*)\.csv(?:\.gz)?")
_SAFE_CHARS_RE = re.compile(r"[^A-Za-z0-9._-]")


class InvalidName(ValueError):
    """A symbol, interval, date or file name that does not follow the expected layout."""


def check_symbol(symbol: str) -> str:
    if not SYMBOL_RE.fullmatch(symbol):
        raise InvalidName(
            f"malformed symbol {symbol!r}: expected 2-20 upper-case letters or digits"
        )
    return symbol


def check_interval(interval: str) -> str:
    if interval not in INTERVALS:
        raise InvalidName(f"unknown interval {interval!r}: expected one of {', '.join(INTERVALS)}")
    return interval


def check_period(period: str) -> str:
    if period not in PERIODS:
        raise InvalidName(f"unknown period {period!r}: expected 'monthly' or 'daily'")
    return period


@dataclass(frozen=True, order=True)
class ArchiveName:
    """One Binance kline archive: ``<SYMBOL>-<INTERVAL>-<YYYY-MM[-DD]>.zip``."""

    symbol: str
    interval: str
    period: str  # 'monthly' or 'daily'
    start: date  # first day the archive covers

    def __post_init__(self) -> None:
        check_symbol(self.symbol)
        check_interval(self.interval)
        check_period(self.period)
        if self.period == "monthly" and self.start.day != 1:
            raise InvalidName(f"a monthly archive starts on the 1st, not {self.start}")

    @property
    def date_label(self) -> str:
        fmt = "%Y-%m" if self.period == "monthly" else "%Y-%m-%d"
        return self.start.strftime(fmt)

    @property
    def stem(self) -> str:
        return f"{self.symbol}-{self.interval}-{self.date_label}"

    @property
    def filename(self) -> str:
        return f"{self.stem}.zip"

    @property
    def folder(self) -> str:
        """Folder relative to the landing root (and to the site's ``data/`` folder)."""
        return f"{PROVIDER}/{MARKET}/{self.period}/klines/{self.symbol}/{self.interval}"

    @property
    def source_file(self) -> str:
        """The archive's path relative to the landing root (its manifest key)."""
        return f"{self.folder}/{self.filename}"

    @property
    def checksum_file(self) -> str:
        return f"{self.source_file}.CHECKSUM"

    def url(self, base_url: str) -> str:
        """Download URL on the Binance public data site (or a mirror at ``base_url``)."""
        site_folder = self.folder.removeprefix(f"{PROVIDER}/")
        return f"{base_url.rstrip('/')}/data/{site_folder}/{self.filename}"

    @property
    def end(self) -> date:
        """First day after the archive's period."""
        if self.period == "daily":
            return self.start + timedelta(days=1)
        days = calendar.monthrange(self.start.year, self.start.month)[1]
        return self.start + timedelta(days=days)

    def time_bounds_ms(self) -> tuple[int, int]:
        """Epoch milliseconds [start, end) of the candles this archive may hold."""
        return _epoch_ms(self.start), _epoch_ms(self.end)

    @classmethod
    def parse(cls, filename: str) -> ArchiveName:
        """Parse ``BTCUSDT-4h-2024-01.zip`` (monthly) or ``BTCUSDT-4h-2024-01-31.zip`` (daily)."""
        match = _ARCHIVE_RE.fullmatch(filename)
        if not match:
            raise InvalidName(
                f"{filename!r} is not a kline archive name (<SYMBOL>-<INTERVAL>-<YYYY-MM[-DD]>.zip)"
            )
        symbol = check_symbol(match["symbol"])
        interval = check_interval(match["interval"])
        label = match["date"]
        if month := _MONTH_RE.fullmatch(label):
            return cls(
                symbol, interval, "monthly", _make_date(label, int(month[1]), int(month[2]), 1)
            )
        if day := _DAY_RE.fullmatch(label):
            return cls(
                symbol, interval, "daily", _make_date(label, int(day[1]), int(day[2]), int(day[3]))
            )
        raise InvalidName(
            f"malformed date {label!r} in {filename!r}: expected YYYY-MM or YYYY-MM-DD"
        )


@dataclass(frozen=True)
class CsvName:
    """A generic OHLCV CSV file: ``<SYMBOL>_<INTERVAL>.csv`` or ``.csv.gz``."""

    symbol: str
    interval: str
    filename: str

    @property
    def source_file(self) -> str:
        return f"csv/{self.symbol}/{self.interval}/{self.filename}"

    @classmethod
    def parse(cls, filename: str) -> CsvName:
        match = _CSV_RE.fullmatch(filename)
        if not match:
            raise InvalidName(
                f"{filename!r} is not an OHLCV CSV name (<SYMBOL>_<INTERVAL>.csv[.gz])"
            )
        return cls(check_symbol(match["symbol"]), check_interval(match["interval"]), filename)


def archives_between(
    symbols: list[str], intervals: list[str], start: date, end: date, period: str
) -> list[ArchiveName]:
    """Every archive for ``symbols`` x ``intervals`` covering ``start`` .. ``end`` (inclusive)."""
    check_period(period)
    if end < start:
        raise ValueError(f"end date {end} is before start date {start}")
    if period == "monthly":
        starts = []
        current = start.replace(day=1)
        while current <= end:
            starts.append(current)
            current = (current + timedelta(days=32)).replace(day=1)
    else:
        starts = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    return [
        ArchiveName(check_symbol(s), check_interval(i), period, day)
        for s in symbols
        for i in intervals
        for day in starts
    ]


def default_end(period: str, today: date) -> date:
    """The last day worth asking the site for: yesterday (UTC) for daily archives, the end
    of last month for monthly ones (a month's archive appears once the month is over)."""
    check_period(period)
    if period == "daily":
        return today - timedelta(days=1)
    return today.replace(day=1) - timedelta(days=1)


def safe_name(name: str) -> str:
    """A file name reduced to harmless characters (for quarantining unrecognised files)."""
    cleaned = _SAFE_CHARS_RE.sub("_", name).lstrip(".")
    return cleaned[:200] or "unnamed"


def _make_date(label: str, year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise InvalidName(f"malformed date {label!r}: {exc}") from None


def _epoch_ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)
