"""``hermes signals latest`` and ``hermes paper``: the feed and the paper ledger, printed."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from hermes.config import Settings
from hermes.lake import connect, restrict_file_access, table_exists


class NothingYet(LookupError):
    """The table is not in the lake yet."""


def _read(settings: Settings, query: str, table: str) -> list[dict[str, Any]]:
    with connect(settings, read_only=True) as conn:
        restrict_file_access(conn, settings)
        if not table_exists(conn, table):
            raise NothingYet(
                f"the lake at {settings.location} has no {table} yet: run `hermes run` "
                "(or a refresh) first"
            )
        cursor = conn.execute(query)
        names = [d[0] for d in cursor.description or []]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def print_feed(console: Console, settings: Settings, *, as_json: bool = False) -> None:
    rows = _read(
        settings,
        "select * from gold_signal_feed order by strategy_id, symbol, interval",
        "gold_signal_feed",
    )
    now = datetime.now(UTC).replace(tzinfo=None)
    if as_json:
        from hermes.paper.feed import as_json as feed_json

        console.print_json(feed_json(rows))
        return
    table = Table(
        "strategy", "symbol", "interval", "bar (open, UTC)", "decision", "position", "price",
        "flags", "age (intervals)",
        title=f"signal feed, snapshot {rows[0]['snapshot_id']}" if rows else "signal feed",
    )  # fmt: skip
    for row in rows:
        seconds = (row["close_time"] - row["open_time"]).total_seconds()
        age = (now - row["close_time"]).total_seconds() / seconds
        flags = ", ".join(k for k, v in json.loads(row["flags"]).items() if v) or "-"
        table.add_row(
            row["strategy_id"],
            row["symbol"],
            row["interval"],
            f"{row['open_time']:%Y-%m-%d %H:%M}",
            row["decision"],
            f"{row['position_before']:g} -> {row['position']:g}",
            f"{row['price']:g}",
            flags,
            f"{age:.1f}" + (" (stale)" if age > 1 else ""),
        )
    console.print(table)


def print_ledger(console: Console, settings: Settings, *, orders: int = 10) -> None:
    positions = _read(
        settings,
        "select * from gold_paper_positions order by strategy_id, symbol, interval",
        "gold_paper_positions",
    )
    table = Table(
        "strategy", "since", "symbol", "interval", "as of", "quantity", "entry", "close",
        "cash", "equity", "return", title="paper positions",
    )  # fmt: skip
    for p in positions:
        init = json.loads(p["config"])["init_cash"]
        table.add_row(
            p["strategy_id"],
            str(p["paper_since"]),
            p["symbol"],
            p["interval"],
            f"{p['as_of']:%Y-%m-%d %H:%M}",
            f"{p['quantity']:.6f}",
            "" if p["entry_price"] is None else f"{p['entry_price']:.2f}",
            f"{p['close']:.2f}",
            f"{p['cash']:.2f}",
            f"{p['equity']:.2f}",
            f"{p['equity'] / init - 1:+.2%}",
        )
    console.print(table)
    recent = _read(
        settings,
        f"select * from gold_paper_orders order by filled_at desc, symbol limit {int(orders)}",  # noqa: S608
        "gold_paper_orders",
    )
    table = Table(
        "strategy", "symbol", "interval", "filled (open, UTC)", "side", "type", "quantity",
        "price", "fees", title=f"last {len(recent)} paper orders",
    )  # fmt: skip
    for o in recent:
        table.add_row(
            o["strategy_id"],
            o["symbol"],
            o["interval"],
            f"{o['filled_at']:%Y-%m-%d %H:%M}",
            o["side"],
            o["order_type"],
            f"{o['quantity']:.6f}",
            f"{o['fill_price']:.2f}",
            f"{o['fees']:.2f}",
        )
    console.print(table)


def orders_json(settings: Settings) -> str:
    """Every paper order as the versioned orders document (``orders.schema.json``)."""
    from hermes.paper.broker import orders_document

    rows = _read(
        settings,
        "select * from gold_paper_orders order by strategy_id, symbol, interval, order_id",
        "gold_paper_orders",
    )
    return json.dumps(orders_document(rows), indent=2)


def print_verify(console: Console, settings: Settings) -> bool:
    """``hermes paper --verify``: one line per ledger series; whether all equal the backtest."""
    from hermes.lake import pinned
    from hermes.paper.verify import verify_ledgers

    _read(settings, "select 1", "gold_paper_equity")  # NothingYet before any ledger
    with pinned(settings) as (reader, snapshot):
        verdicts = verify_ledgers(reader, reader, snapshot=snapshot)
    for verdict in verdicts:
        colour = "green" if verdict.difference is None else "red"
        console.print(f"[{colour}]{verdict.line}[/{colour}]", highlight=False, soft_wrap=True)
    return all(v.difference is None for v in verdicts)
