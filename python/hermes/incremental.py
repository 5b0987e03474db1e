"""Which series a per-series incremental dbt Python model recomputes, and from where.

The models computed one (symbol, interval) series at a time (``gold_recursive_indicators``,
``gold_ml_predictions``) keep the candle's ``ingested_at`` in their rows; a series changed
since the last build when it has a bar newer than the last one built, or one landed again
since (a corrected candle).
"""

from __future__ import annotations

from typing import Any

from hermes.lake import identifier


def changed_series(
    session: Any, klines: str, this: str | None, intervals: list[str] | None = None
) -> list[tuple[str, str, Any]]:
    """(symbol, interval, first changed open_time) per series to compute, sorted.

    ``klines`` is a view of ``silver_klines``; ``this`` the model's relation (None on a full
    build: every series, first changed open_time None); ``intervals`` limits the series (None:
    all).
    """
    identifier(klines)
    where, params = (
        ("", [])
        if intervals is None
        else (
            "list_contains(?::varchar[], klines.interval)",
            [[str(i) for i in intervals]],
        )
    )
    if this is None:
        return session.execute(
            f"select distinct symbol, interval, null from {klines} as klines "  # noqa: S608
            f"{'where ' + where if where else ''} order by all",
            params,
        ).fetchall()
    return session.execute(
        f"""
        with built as (
            select symbol, interval, max(open_time) as last_open_time,
                max(ingested_at) as last_ingested_at
            from {this} group by all
        )
        select klines.symbol, klines.interval, min(klines.open_time)
        from {klines} as klines
        left join built using (symbol, interval)
        where {where + " and " if where else ""}(
            built.symbol is null
            or klines.open_time > built.last_open_time
            or klines.ingested_at > built.last_ingested_at
        )
        group by all order by all
        """,  # noqa: S608
        params,
    ).fetchall()
