"""What the ``hermes run``, ``refresh``, ``backfill``, ``serve`` and ``server`` commands do.

Each command first decides, with :mod:`hermes.flows.changes` alone, whether there is anything to
do: a run with nothing new prints its summary and returns in about a second, importing
neither Prefect nor dbt, Great Expectations or vectorbt and starting no server. Otherwise
it points Prefect at its API (:func:`hermes.flows.server.ensure_api`: ``PREFECT_API_URL``, or the
long-lived local server) and runs the flow. SIGTERM is handled like Ctrl-C: the flow run
is marked as crashed, nothing half-done is published, and no server is left behind.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from types import FrameType
from typing import TYPE_CHECKING, Any

from rich.console import Console

from hermes.config import Settings
from hermes.flows.changes import (
    LakeState,
    bundled_files,
    changed_files,
    dailies_of,
    lake_state,
    plan_backfill,
    plan_daily,
    probe_archives,
    show_last_publication,
)
from hermes.flows.server import (
    ensure_api,
    prefect_home,
    running_server,
    server_mode,
    start_server,
    stop_server,
)
from hermes.flows.summary import RefreshFailed, RefreshSummary
from hermes.ingest.layout import ArchiveName
from hermes.notify import notify
from hermes.publication import Publication
from hermes.signals.registry_file import check_registry

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment


INTERRUPTED = 130
"""Exit code of a run stopped by SIGTERM or Ctrl-C."""


class _Interrupted(KeyboardInterrupt):
    """SIGTERM, delivered as Ctrl-C would be."""


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt, so the flow and Prefect's clients shut down."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise _Interrupted

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _base_url() -> str:
    """The data site's address (imported here: the downloader's module loads the decoders'
    libraries, which a run with nothing new does not need)."""
    from hermes.ingest.download import base_url_from_env

    return base_url_from_env()


def _quiet_no_op(summary: RefreshSummary, publication: Publication | None) -> RefreshSummary:
    summary.status = "no-op"
    show_last_publication(publication, summary)
    notify(summary.headline, summary.to_dict(), success=True)
    return summary


def _run_flow(console: Console, call: Callable[[], RefreshSummary]) -> RefreshSummary | int:
    """Run a flow (Prefect's API ready first); the summary, or the exit code of a failure.

    The registry file is checked before anything starts: a mistake in it ends the command
    with one line (:class:`hermes.signals.registry_file.RegistryError`), nothing built."""
    check_registry()
    home = prefect_home()
    if (
        not os.environ.get("PREFECT_API_URL")
        and server_mode() == "local"
        and running_server(home) is None
    ):
        console.print(
            f"starting the local Prefect server of {home} (once: later runs reuse it)",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    ensure_api()
    from prefect.exceptions import TerminationSignal

    try:
        with sigterm_as_interrupt():
            return call()
    except RefreshFailed as exc:
        console.print(
            "\n".join(exc.summary.lines()),
            style="red",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        return 1
    except (KeyboardInterrupt, TerminationSignal):
        console.print(
            "interrupted: the flow run is marked crashed; readers still see the last "
            "published snapshot, and the next run completes the work",
            style="red",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        return INTERRUPTED


def _print(console: Console, summary: RefreshSummary) -> None:
    console.print("\n".join(summary.lines()), markup=False, highlight=False, soft_wrap=True)


def run_bundled(console: Console, rebuild: bool = False) -> int:
    """``hermes run``: the whole job on the bundled data, then where to look; exit code."""
    settings = Settings.from_env()
    files = bundled_files()
    summary: RefreshSummary | None = None
    if not rebuild:
        state = lake_state(settings)
        if not changed_files(files, state.landed) and not state.pending:
            summary = _quiet_no_op(
                RefreshSummary(flow_run="", unchanged=len(files)), state.publication
            )
    if summary is None:

        def call() -> RefreshSummary:
            from hermes.flows.daily_refresh import bundled_refresh

            return bundled_refresh(rebuild=rebuild)

        outcome = _run_flow(console, call)
        if isinstance(outcome, int):
            return outcome
        summary = outcome
    _print(console, summary)
    if summary.reports:
        console.print(f"Reports ({len(summary.reports)}):", style="bold")
        for report in summary.reports:
            console.print(f"  file://{report}", markup=False, highlight=False, soft_wrap=True)
    example = "select run_id, symbol, total_return, trades from published.gold_backtest_runs"
    console.print(f"Lake: {settings.lake_root}", markup=False, highlight=False, soft_wrap=True)
    console.print(
        f'Query it: hermes sql "{example}"', markup=False, highlight=False, soft_wrap=True
    )
    return 0


def _nothing_published(
    console: Console, archives: Sequence[ArchiveName], url: str, state: LakeState
) -> int:
    """The quiet no-op of ``refresh`` and ``backfill``: the site has none of ``archives`` and
    nothing is pending, so no flow runs; says so and returns exit code 0."""
    summary = RefreshSummary(
        flow_run="",
        not_available=[f"{a.source_file}: not published: {a.url(url)}" for a in archives],
    )
    _print(console, _quiet_no_op(summary, state.publication))
    return 0


def run_refresh(
    console: Console,
    *,
    day: date | None,
    symbols: Sequence[str],
    intervals: Sequence[str],
    lookback_days: int,
    base_url: str | None,
) -> int:
    """``hermes refresh``: the daily refresh now (no flow when the site has nothing new)."""
    settings = Settings.from_env()
    day = day or datetime.now(UTC).date() - timedelta(days=1)
    url = (base_url or _base_url()).rstrip("/")
    state = lake_state(settings)
    wanted = plan_daily(state.landed, symbols, intervals, day, lookback_days)
    exists = probe_archives(wanted, url)
    if not any(exists.values()) and not state.pending:
        return _nothing_published(console, wanted, url, state)

    def call() -> RefreshSummary:
        from hermes.flows.daily_refresh import daily_refresh

        return daily_refresh(
            day=day,
            symbols=list(symbols),
            intervals=list(intervals),
            lookback_days=lookback_days,
            base_url=url,
        )

    result = _run_flow(console, call)
    if isinstance(result, int):
        return result
    _print(console, result)
    return 0


def run_backfill(
    console: Console,
    *,
    start: date,
    end: date,
    symbols: Sequence[str],
    intervals: Sequence[str],
    base_url: str | None,
) -> int:
    """``hermes backfill``: fetch ``start``..``end`` and refresh what changed.

    When the site has none of the range's archives (monthly, nor the dailies standing in
    for a missing month) and nothing is pending, it says so without a flow run.
    """
    settings = Settings.from_env()
    url = (base_url or _base_url()).rstrip("/")
    monthly, daily = plan_backfill(symbols, intervals, start, end, datetime.now(UTC).date())
    state = lake_state(settings)
    found = probe_archives(monthly, url)
    missing = [a for a in monthly if not found[a.source_file]]
    daily = daily + [d for a in missing for d in dailies_of(a, start, end)]
    found |= probe_archives(daily, url)
    if not any(found.values()) and not state.pending:
        return _nothing_published(console, daily, url, state)

    def call() -> RefreshSummary:
        from hermes.flows.daily_refresh import backfill

        return backfill(
            start=start, end=end, symbols=list(symbols), intervals=list(intervals), base_url=url
        )

    result = _run_flow(console, call)
    if isinstance(result, int):
        return result
    _print(console, result)
    return 0


def serve(console: Console, *, cron: str, symbols: Sequence[str], intervals: Sequence[str]) -> int:
    """``hermes serve``: run the daily deployment on its schedule from this process.

    A schedule lives in a Prefect server: without ``PREFECT_API_URL`` or a running local
    server (``hermes server start``) this refuses instead of serving a temporary API whose
    schedule would vanish with the process.
    """
    url = os.environ.get("PREFECT_API_URL")
    if not url:
        info = running_server(prefect_home())
        url = info.url if info is not None else None
    if not url:
        console.print(
            "error: hermes serve needs a Prefect server to keep its schedule: run "
            "`hermes server start` (or `prefect server start`) and set PREFECT_API_URL",
            style="red",
            markup=False,
            highlight=False,
        )
        return 2
    os.environ["PREFECT_API_URL"] = url
    from hermes.flows.daily_refresh import backfill, daily_refresh

    deployments = [
        daily_refresh.to_deployment(
            name="hermes-daily",
            cron=cron,
            parameters={"symbols": list(symbols), "intervals": list(intervals)},
            tags=["hermes"],
        ),
        backfill.to_deployment(name="hermes-backfill", tags=["hermes"]),
    ]
    console.print(f"serving hermes-daily ({cron} UTC) and hermes-backfill on {url}", markup=False)
    _serve(deployments)
    console.print("stopped serving (schedules paused until served again)", markup=False)
    return 0


def _serve(deployments: Sequence[Any]) -> None:
    """Prefect's ``serve``, with SIGTERM stopping it the way Ctrl-C does (cleanly), whenever
    it arrives: the deployments are visible on the server before the runner has started, so
    a SIGTERM in that window is kept and honoured once the runner is up."""
    import asyncio

    from prefect.runner import Runner

    class QuietRunner(Runner):
        stop_requested = False

        def handle_sigterm(self, *args: Any, **kwargs: Any) -> None:
            # Prefect's own handler calls the runner's synchronous stop from inside its
            # event loop, which only creates a coroutine ("never awaited") and exits in the
            # middle of API calls; here the stop is scheduled on the loop and awaited there
            self._logger.info("SIGTERM received, stopping")
            self.request_stop()

        def request_stop(self) -> None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # not serving yet: stop as soon as the runner starts
                self.stop_requested = True
                return
            stopping.append(loop.create_task(self.stop_once_started()))

        async def stop_once_started(self) -> None:
            while not self.started:
                await asyncio.sleep(0.05)
            await self.astop()

        async def start(self, *args: Any, **kwargs: Any) -> None:
            if self.stop_requested:
                self.request_stop()
            await super().start(*args, **kwargs)

    stopping: list[asyncio.Task[None]] = []
    runner = QuietRunner(pause_on_shutdown=True)
    previous = signal.signal(signal.SIGTERM, lambda *_: runner.request_stop())
    try:
        for deployment in deployments:
            runner.add_deployment(_deployment(deployment))
        asyncio.run(runner.start())
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)


def _deployment(deployment: Any) -> RunnerDeployment:
    from prefect.deployments.runner import RunnerDeployment

    # outside an event loop, to_deployment returns the deployment itself
    assert isinstance(deployment, RunnerDeployment)
    return deployment


def server(console: Console, action: str) -> int:
    """``hermes server status|start|stop|url``: the long-lived local Prefect server."""
    home = prefect_home()
    if action == "start":
        info = start_server(home)
        console.print(f"Prefect server running: {info.url} (UI {info.ui}, pid {info.pid})")
        console.print(
            f"export PREFECT_API_URL={info.url}", markup=False, highlight=False, soft_wrap=True
        )
        return 0
    if action == "stop":
        stopped = stop_server(home)
        console.print(
            f"stopped the Prefect server at {stopped.url}" if stopped else "no server running"
        )
        return 0
    running = running_server(home)
    if running is None:
        console.print(f"no Prefect server running for {home}", markup=False)
        return 1
    if action == "url":
        print(running.url)
        return 0
    console.print(f"Prefect server running: {running.url} (UI {running.ui}, pid {running.pid})")
    return 0
