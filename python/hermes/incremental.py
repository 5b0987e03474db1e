"""Which series a per-series incremental dbt Python model recomputes, and from where.

The models computed one (symbol, interval) series at a time (``gold_recursive_indicators``,
``gold_ml_predictions``) keep the candle's ``ingested_at`` in their rows; a series changed
since the last build when it has a bar newer than the last one built, or one landed again
since (a corrected candle), or when a built bar's candle is gone from ``silver_klines`` (a
re-landed file that carries fewer candles): the series is rewritten from the first of
these, and :func:`delete_removed_candles` deletes the built rows of the removed candles.
Mirrors the SQL models' macros ``changed_series`` and ``delete_removed_candles``.
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
    params: list[Any] = [] if intervals is None else [[str(i) for i in intervals]]
    if intervals is None:
        where = removed_where = ""
    else:
        where = "list_contains(?::varchar[], klines.interval) and "
        removed_where = "where list_contains(?::varchar[], removed.interval)"
    if this is None:
        return session.execute(
            f"select distinct symbol, interval, null from {klines} as klines "  # noqa: S608
            f"{'where ' + where[:-5] if where else ''} order by all",
            params,
        ).fetchall()
    return session.execute(
        f"""
        with built as (
            select symbol, interval, max(open_time) as last_open_time,
                max(ingested_at) as last_ingested_at
            from {this} group by all
        ),
        changes as (
            select klines.symbol, klines.interval, min(klines.open_time) as first_changed
            from {klines} as klines
            left join built using (symbol, interval)
            where {where}(
                built.symbol is null
                or klines.open_time > built.last_open_time
                or klines.ingested_at > built.last_ingested_at
            )
            group by all
            union all
            select removed.symbol, removed.interval, min(removed.open_time)
            from {this} as removed
            anti join {klines} as klines using (symbol, interval, open_time)
            {removed_where}
            group by all
        )
        select symbol, interval, min(first_changed) from changes
        group by all order by all
        """,  # noqa: S608
        params * 2,
    ).fetchall()


def delete_removed_candles(session: Any, klines: str, this: str | None) -> None:
    """Delete the rows of ``this`` whose candle (symbol, interval, open_time) ``klines`` no
    longer has: delete+insert only deletes the keys of the rows a run writes. Call it after
    :func:`changed_series` (which reads those rows); nothing to do on a full build."""
    identifier(klines)
    if this is None:
        return
    session.execute(
        f"""
        delete from {this} as built
        where not exists (
            select 1 from {klines} as klines
            where klines.symbol = built.symbol and klines.interval = built.interval
                and klines.open_time = built.open_time
        )
        """  # noqa: S608
    )
