"""Candle intervals the lake accepts and their length in seconds.

Defined once, as the ``intervals`` var of ``dbt_project.yml`` (the SQL models read it there);
every Python module reads it from here.
"""

from __future__ import annotations

from functools import cache

from hermes.config import project_vars


class UnknownInterval(ValueError):
    """An interval code the lake does not accept."""


@cache
def interval_table() -> dict[str, int]:
    """Interval code -> length in seconds, in the order ``dbt_project.yml`` lists them."""
    return {str(code): int(seconds) for code, seconds in project_vars()["intervals"].items()}


def interval_seconds(interval: str) -> int:
    """Length of an interval (``4h`` -> 14400); :class:`UnknownInterval` if not accepted."""
    table = interval_table()
    if interval not in table:
        raise UnknownInterval(f"unknown interval {interval!r}: expected one of {', '.join(table)}")
    return table[interval]
