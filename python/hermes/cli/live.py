"""``hermes live``: the warm live-signal loop; ``hermes live status``: the operator's view.

Registered in :mod:`hermes.cli` as the sub-app ``live`` (the loop is its callback, so
``hermes live`` runs it and ``hermes live status`` only reads).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from hermes.cli.app import console
from hermes.config import Settings

DEFAULT_REPLAY_SPEED = 14_400.0  # a 4h bar per second


def live(
    ctx: typer.Context,
    symbols: Annotated[
        list[str] | None,
        typer.Option(
            "--symbol", "-s", help="Symbols (default: the lake's that the universe lists)."
        ),
    ] = None,
    intervals: Annotated[
        list[str] | None,
        typer.Option("--interval", "-i", help="Intervals (default: the universe's)."),
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            envvar="HERMES_LIVE_BASE_URL",
            help="Market-data API (default Binance's public https://api.binance.com).",
        ),
    ] = None,
    fake_exchange: Annotated[
        bool,
        typer.Option(
            "--fake-exchange",
            help="Serve the bundled candles from a local fake exchange on a compressed clock "
            "and replay the last --replay-days through the live path (output under "
            "<lake>/live/replay, the lake untouched).",
        ),
    ] = False,
    replay_days: Annotated[int, typer.Option(min=1, help="Days the fake exchange replays.")] = 14,
    speed: Annotated[
        float, typer.Option(min=1.0, help="Fake exchange: exchange seconds per real second.")
    ] = DEFAULT_REPLAY_SPEED,
    max_steps: Annotated[
        int | None, typer.Option(min=1, help="Stop after this many bar closes.")
    ] = None,
    once: Annotated[
        bool,
        typer.Option(
            "--once",
            help="Land and decide what has closed since the last landed bar, then exit "
            "(for a cron schedule at each interval's close).",
        ),
    ] = False,
) -> None:
    """Land closed candles as bars close and turn them into features, signals, feed rows,
    paper orders and webhook posts, as the daily build would (runs until stopped)."""
    if ctx.invoked_subcommand is not None:
        return
    from hermes.live.client import KlinesClient
    from hermes.live.engine import LiveEngine, lake_series, run_forever

    settings = Settings.from_env()
    if fake_exchange:
        status = _replay(settings, symbols, intervals, replay_days, speed, max_steps)
        raise typer.Exit(status)
    series = lake_series(settings, symbols, intervals)
    client = KlinesClient(base_url)
    engine = LiveEngine(settings, client, series=series)
    console.print(
        f"hermes live: {len(engine.series)} series from {client.url}",
        highlight=False,
        soft_wrap=True,
    )
    try:
        status = (
            int(bool(engine.step().alerts)) if once else run_forever(engine, max_steps=max_steps)
        )
    except KeyboardInterrupt:
        status = 0
    finally:
        client.close()
    raise typer.Exit(status)


def _replay(
    settings: Settings,
    symbols: list[str] | None,
    intervals: list[str] | None,
    days: int,
    speed: float,
    max_steps: int | None,
) -> int:
    """The live path against the fake exchange, replaying the bundled candles' last days."""
    from hermes.live.engine import lake_series
    from hermes.live.replay import replay_bundled

    return replay_bundled(
        settings, lake_series(settings, symbols, intervals), days=days, speed=speed,
        max_steps=max_steps,
        announce=lambda line: console.print(line, highlight=False, soft_wrap=True),
    )  # fmt: skip


def status(
    replay: Annotated[
        bool, typer.Option("--replay", help="The last `hermes live --fake-exchange` replay.")
    ] = False,
) -> None:
    """Per series: the last closed bar landed, the step's latency, the lag behind the
    exchange (bars closed but not landed yet) and the last error (read only)."""
    from hermes.live.store import LiveStore, replay_output

    settings = Settings.from_env()
    if replay:
        settings = replay_output(settings)
    state = LiveStore(settings).read_status()
    if state is None:
        console.print(f"hermes live has not run on {settings.location} yet", highlight=False)
        raise typer.Exit(1)
    table = Table(title=f"hermes live, as of {state['updated_at']}")
    for column in ("series", "last closed bar", "latency s", "lag (bars)", "last error"):
        table.add_column(column)
    failing = False
    for name, entry in sorted(state["series"].items()):
        error = entry.get("last_error") or ""
        failing |= bool(error)
        table.add_row(
            name,
            str(entry.get("last_closed_bar", "-")),
            str(entry.get("latency_seconds", "-")),
            str(entry.get("lag_bars", "-")),
            error,
        )
    console.print(table)
    if state.get("pending_lake_sync"):
        console.print("lake sync pending (another process held the catalog)", highlight=False)
    raise typer.Exit(1 if failing else 0)
