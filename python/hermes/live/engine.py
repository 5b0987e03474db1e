"""One live step: land the new closed candles, compute the bar, decide, post, write.

:class:`LiveEngine` is warm: it loads the series from the lake once (candles, recursive
state, registry, compiled signal SQL), adds the candles the live store holds beyond them (a
restarted process resumes from the last landed bar), then each :meth:`LiveEngine.step`
fetches every series' closed candles since its last one (catching up any it missed),
computes the changed series' features and signals (:mod:`hermes.live.warm`), extends their
feed rows (written to the feed files and posted to the webhook as soon as they exist) and
then their paper ledgers by the new bars (:mod:`hermes.live.follow`: the rows the batch
computes, bit for bit), then syncs the lake.

A series whose API answer is refused (malformed, out of order, duplicated, wrong interval,
price 0, OHLC inconsistent), whose request fails after the retries, or whose computation
fails is named in one alert line and skipped for that step; the others carry on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hermes.config import Settings
from hermes.intervals import interval_seconds
from hermes.lake import DataError, current_snapshot, pinned
from hermes.live.client import Candle, KlinesClient
from hermes.live.follow import SERIES_ERRORS, Follower
from hermes.live.sources import SeriesKey, compile_features_sql, read_sources
from hermes.live.store import LakeBusy, LiveStore, sync_to_lake
from hermes.live.warm import WarmLake
from hermes.notify import notify
from hermes.paper.activation import PaperError, activation_of
from hermes.paper.feed import new_decisions, write_feed_files
from hermes.paper.series import SeriesLedger

log = logging.getLogger("hermes.live")
FETCH_THREADS = 8


def utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC).replace(tzinfo=None)


@dataclass
class StepReport:
    """What one step did: series landed, feed rows, new decisions, alerts, stage timings."""

    server_time: datetime
    landed: dict[SeriesKey, int] = field(default_factory=dict)
    feed: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[str] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    ledgers: list[SeriesLedger] = field(default_factory=list)
    stages: dict[str, float] = field(default_factory=dict)
    feed_written_at: float | None = None
    """When the feed files holding this step's rows were written (the step's clock)."""
    posted_at: float | None = None
    """When the webhook POST returned (None: nothing posted)."""
    synced: bool = False


class LiveEngine:
    """The warm live path of one process (see the module's docstring)."""

    def __init__(
        self,
        settings: Settings,
        client: KlinesClient,
        *,
        series: list[SeriesKey] | None = None,
        target_path: Path | None = None,
        webhook_url: str | None = None,
        sync: bool = True,
        features_sql: dict[str, str] | None = None,
        until: datetime | None = None,
        output: Settings | None = None,
    ) -> None:
        self.settings = output or settings
        """Where the live store and the feed files go, and the lake synced (``output``, by
        default the lake read)."""
        self.client = client
        self._pool = ThreadPoolExecutor(max_workers=FETCH_THREADS, thread_name_prefix="live")
        self.store = LiveStore(self.settings)
        self.webhook_url = webhook_url
        self.sync = sync
        self.features_sql = features_sql or compile_features_sql(
            settings, target_path or settings.lake_root / "live" / "target"
        )
        with pinned(settings) as (reader, snapshot):
            held = reader.execute(
                "select distinct symbol, interval from silver_klines order by all"
            ).fetchall()
            universe = series or [(str(s), str(i)) for s, i in held]
            sources = read_sources(
                reader, snapshot, universe, self.features_sql, until=until, lake=settings
            )
            self.snapshot = current_snapshot(reader)
        self.series = universe
        self.warm = WarmLake(sources)
        self.feed: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.status: dict[str, dict[str, Any]] = {f"{s} {i}": {} for s, i in universe}
        self.pending_days: set[tuple[str, str, str]] = set()
        self.pending_feed: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.pending_ledgers: dict[tuple[str, str, str], SeriesLedger] = {}
        self._resume_from_store()
        self._warm_up()

    def _warm_up(self) -> None:
        """The feed and ledgers as of the warm state, followed from now on (the feed is what
        the next step's decisions are new against; following it, and resuming the indicators
        once, compiles the engine's kernels before the first bar closes)."""
        self.warm.show(self.series)
        self.warm.warm_kernels()
        self.follower = Follower(self.warm, self.snapshot)

        def warn(key: SeriesKey, message: str) -> None:  # a series the first step will name
            log.warning("hermes live: at start: %s %s: %s", *key, message)

        now = datetime.now(UTC).replace(tzinfo=None)
        rows = self.follower.feed(self.series, now, warn)
        self.follower.ledgers(self.series, warn)
        self.feed = {(r["strategy_id"], r["symbol"], r["interval"]): r for r in rows}
        self.warm.compact()

    def _resume_from_store(self) -> None:
        """Candles the live store holds beyond the lake's (landed before a restart)."""
        changed: dict[SeriesKey, int | None] = {}
        stored = self.store.candles_of({key: self.warm.last_open_ms(key) for key in self.series})
        for key in self.series:
            candles = stored.get(key)
            if candles:
                self.warm.append(key, candles, datetime.now(UTC).replace(tzinfo=None))
                self.pending_days |= {(*key, f"{c.opened:%Y-%m-%d}") for c in candles}
                changed[key] = len(candles)
        if changed:
            self.warm.recompute(changed)

    def step(self, *, now: Callable[[], float] = time.time) -> StepReport:
        """Fetch, compute, decide, post and write what closed since the last step."""
        started = now()
        server_ms = self.client.server_time()
        report = StepReport(utc(server_ms))
        changed = self._land(report, server_ms)
        report.stages["fetch_and_land"] = now() - started
        if changed:
            mark = now()
            self.warm.recompute(report.landed)
            report.stages["features_and_signals"] = now() - mark
            mark = now()
            alert = lambda key, message: self._alert(report, key, message)  # noqa: E731
            report.feed = self.follower.feed(changed, report.server_time, alert)
            report.decisions = new_decisions(self.feed, report.feed)
            for row in report.feed:
                self.feed[(row["strategy_id"], row["symbol"], row["interval"])] = row
            write_feed_files(self.settings, list(self.feed.values()))
            report.feed_written_at = now()
            report.stages["feed"] = report.feed_written_at - mark
        if report.decisions or report.alerts:  # posted as soon as the feed rows exist
            mark = now()
            self._post(report, report.decisions + report.alerts)
            report.posted_at = now()
            report.stages["webhook"] = report.posted_at - mark
        if changed:
            mark = now()
            posted = len(report.alerts)
            report.ledgers = self._ledgers(report, changed)
            report.stages["ledgers"] = now() - mark
            if len(report.alerts) > posted:  # a ledger's alert goes out on its own
                self._post(report, report.alerts[posted:])
        if self.sync:
            mark = now()
            report.synced = self._sync(report)
            report.stages["lake_sync"] = now() - mark
        self._write_status(report, server_ms, started, now)
        if changed:
            self.warm.compact()
        return report

    def _land(self, report: StepReport, server_ms: int) -> list[SeriesKey]:
        """Fetch every series' new closed candles (requests in parallel: they wait on the
        network), store them (one file), then append them all at once."""
        changed = []
        stamp = datetime.now(UTC).replace(tzinfo=None)
        after = {key: self.warm.last_open_ms(key) for key in self.series}

        def fetch(key: SeriesKey) -> list[Candle] | Exception:
            try:
                return self.client.closed_candles(*key, after=after[key], server_time=server_ms)
            except SERIES_ERRORS as exc:
                return exc

        fetched = []
        for key, candles in zip(self.series, self._pool.map(fetch, self.series), strict=True):
            if isinstance(candles, Exception):
                self._alert(report, key, str(candles))
            elif candles:
                fetched.append((key, candles))
        self.store.save_candles(fetched)  # in one file synced to disk, before use
        self.warm.append_many(fetched, stamp)
        for key, candles in fetched:
            self.pending_days |= {(*key, f"{c.opened:%Y-%m-%d}") for c in candles}
            report.landed[key] = len(candles)
            self.status[f"{key[0]} {key[1]}"].update(last_error=None)
            changed.append(key)
        return changed

    def _alert(self, report: StepReport, key: SeriesKey, message: str) -> None:
        name = f"{key[0]} {key[1]}"
        line = message if message.startswith(name) else f"{name}: {message}"
        report.alerts.append(f"hermes live: {line} (series skipped this bar)")
        self.status[name].update(last_error=line, error_at=report.server_time)

    def _ledgers(self, report: StepReport, changed: list[SeriesKey]) -> list[SeriesLedger]:
        """Each paper-traded changed series' ledger, extended by its new bars."""
        for strategy, _, _ in self.follower.strategies:
            activation = activation_of(strategy)
            if activation is not None and activation.portfolio:
                report.alerts.append(
                    f"hermes live: {strategy.strategy_id} trades shared capital; its ledger is "
                    "extended by the daily refresh only"
                )
        alert = lambda key, message: self._alert(report, key, message)  # noqa: E731
        out = self.follower.ledgers(changed, alert)
        for ledger in out:
            self.pending_ledgers[(ledger.strategy.strategy_id, ledger.symbol, ledger.interval)] = (
                ledger
            )
        return out

    def _post(self, report: StepReport, lines: list[str]) -> None:
        headline = f"hermes live {report.server_time:%Y-%m-%d %H:%M}: " + "; ".join(lines)
        details = {
            "decisions": [line for line in lines if line in report.decisions],
            "alerts": [line for line in lines if line in report.alerts],
            "feed": [
                {k: str(v) for k, v in row.items()}
                for row in report.feed
                if row["decision"] != "hold"
            ],
        }
        notify(headline, details, success=not report.alerts, logger=log,
               webhook_url=self.webhook_url)  # fmt: skip

    def _sync(self, report: StepReport) -> bool:
        for row in report.feed:
            self.pending_feed[(row["strategy_id"], row["symbol"], row["interval"])] = row
        try:
            sync_to_lake(
                self.settings,
                self.store,
                self.pending_days,
                list(self.pending_feed.values()),
                list(self.pending_ledgers.values()),
                self.snapshot,
            )
        except LakeBusy as exc:
            log.warning("%s; kept for the next step", exc)
            return False
        except (PaperError, DataError) as exc:
            report.alerts.append(f"hermes live: lake sync: {exc}")
            return False
        self.pending_days.clear()
        self.pending_feed.clear()
        self.pending_ledgers.clear()
        return True

    def _write_status(
        self, report: StepReport, server_ms: int, started: float, now: Callable[[], float]
    ) -> None:
        done = now()
        for key in self.series:
            name = f"{key[0]} {key[1]}"
            last = self.warm.last_open_ms(key)
            entry = self.status[name]
            if last is None:
                continue
            step = interval_seconds(key[1]) * 1000
            entry["last_closed_bar"] = utc(last)
            entry["lag_bars"] = max(0, (server_ms - (last + step)) // step)
            if key in report.landed:
                entry["latency_seconds"] = round(done - started, 3)
        self.store.write_status(
            {
                "updated_at": report.server_time,
                "series": self.status,
                "pending_lake_sync": not report.synced and self.sync,
            }
        )


def lake_series(
    settings: Settings, symbols: list[str] | None, intervals: list[str] | None
) -> list[SeriesKey]:
    """The lake's series of these symbols and intervals (checked; None: all) that the
    universe lists (:func:`hermes.universe.lists`). A symbol the universe does not list, or
    no such series at all, is a ``ValueError`` naming the universe file."""
    from hermes.features.store import select_series
    from hermes.lake import connect, restrict_file_access
    from hermes.universe import listed_series, universe_csv

    listed = set(listed_series())
    for symbol in symbols or []:
        if not any(s == symbol for s, _ in listed):
            raise ValueError(f"symbol {symbol} is not in the universe ({universe_csv()})")
    conn = connect(settings, read_only=True)
    try:
        restrict_file_access(conn, settings)
        series = select_series(conn, symbols, intervals, "silver_klines")
    finally:
        conn.close()
    kept = [key for key in series if key in listed]
    if not kept:
        raise ValueError(
            f"the lake's silver_klines holds no series of the universe ({universe_csv()}) "
            f"among {', '.join(f'{s} {i}' for s, i in series)}"
        )
    return kept


def next_close_ms(series: list[SeriesKey], server_ms: int) -> int:
    """The next bar close (epoch ms) of any of the series' intervals after ``server_ms``."""
    steps = {interval_seconds(i) * 1000 for _, i in series}
    return min((server_ms // s + 1) * s for s in steps)


def run_forever(
    engine: LiveEngine,
    *,
    poll_seconds: float = 0.25,
    grace_seconds: float = 30.0,
    max_steps: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
    seconds_until: Callable[[int, int], float] | None = None,
) -> int:
    """Step at each bar close (polling until every series has its candle, for at most
    ``grace_seconds``); returns 1 if any step raised an alert, else 0.

    ``seconds_until(close_ms, server_ms)``: real seconds until the exchange's clock reaches
    ``close_ms`` (default: the exchange's milliseconds are real ones; a fake exchange's
    compressed clock gives its own)."""
    until = seconds_until or (lambda close, server: (close - server) / 1000)
    status = 0
    steps = 0
    report = engine.step()
    status |= bool(report.alerts)
    while max_steps is None or steps < max_steps:
        server_ms = engine.client.server_time()
        wait = until(next_close_ms(engine.series, server_ms), server_ms)
        sleep(max(wait, 0.0) + 0.05)
        deadline = time.monotonic() + grace_seconds
        report = engine.step()
        while _behind(engine, report) and time.monotonic() < deadline:
            sleep(poll_seconds)
            report = engine.step()
        status |= bool(report.alerts)
        steps += 1
    return int(status)


def _behind(engine: LiveEngine, report: StepReport) -> bool:
    server_ms = int((report.server_time - datetime(1970, 1, 1)) / timedelta(milliseconds=1))
    for key in engine.series:
        last = engine.warm.last_open_ms(key)
        step = interval_seconds(key[1]) * 1000
        if last is not None and last + 2 * step <= server_ms:
            return True
    return False
