"""Signal commands: ``hermes signals generate``, ``hermes signals latest`` and ``hermes paper``."""

from __future__ import annotations

import sys

import typer
from rich.table import Table

from hermes.cli.app import console
from hermes.cli.errors import usage_errors
from hermes.cli.options import (
    DEFAULT_STRATEGY,
    IntervalsOption,
    OverridesOption,
    StrategyOption,
    SymbolsOption,
)
from hermes.config import Settings


def generate(
    strategy: StrategyOption = DEFAULT_STRATEGY,
    symbol: SymbolsOption = None,
    interval: IntervalsOption = None,
    chunk_rows: int = typer.Option(5000, help="Rows read and computed per chunk."),
    params: OverridesOption = None,
) -> None:
    """Generate a strategy's signals chunk by chunk into gold_strategy_signals."""
    from hermes.backtest.runs import parse_overrides
    from hermes.signals.run import generate_signals

    with usage_errors():
        summaries = generate_signals(
            Settings.from_env(),
            strategy,
            symbols=symbol,
            intervals=interval,
            chunk_rows=chunk_rows,
            overrides=parse_overrides(params),
            show_progress=True,
        )
    table = Table("symbol", "interval", "rows", "chunks", "buy signals", "sell signals")
    for s in summaries:
        counts = (s.rows, s.chunks, s.buy_signals, s.sell_signals)
        table.add_row(s.symbol, s.interval, *(str(c) for c in counts))
    console.print(table)


def latest() -> None:
    """Print the signal feed: each active strategy's decision on the last bar."""
    from hermes.cli.paper_views import print_feed

    with usage_errors():
        print_feed(console, Settings.from_env())


def paper(
    orders: int = typer.Option(10, help="How many of the latest orders to show."),
    orders_json: bool = typer.Option(
        False, "--orders-json", help="Print every order as the versioned orders document."
    ),
    verify: bool = typer.Option(
        False,
        "--verify",
        help="Compare each ledger series with the backtest of its period (exit 1 on a difference).",
    ),
) -> None:
    """The paper-trading ledger: positions, equity and the latest orders of each series."""
    from hermes.cli.paper_views import orders_json as document
    from hermes.cli.paper_views import print_ledger, print_verify

    with usage_errors():
        if verify:
            if not print_verify(console, Settings.from_env()):
                raise typer.Exit(1)
        elif orders_json:
            sys.stdout.write(document(Settings.from_env()) + "\n")
        else:
            print_ledger(console, Settings.from_env(), orders=orders)
