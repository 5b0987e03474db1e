"""The live feed rows and paper ledgers, extended by each new bar instead of recomputed.

:class:`Follower` keeps one :class:`hermes.live.tracks.Track` per (active strategy, series)
for the feed (the strategy's position over the whole history, with the settings the feed
simulates it with) and one :class:`LedgerTrack` per paper-traded series (its ledger since
``paper_since``). Each starts from the same functions the batch calls over the whole
history (:class:`hermes.signals.source.SignalSource`, :func:`hermes.paper.ledger.compute_series`),
then each step reads only the new bars of the changed series (prices of the feature table,
the strategy's signals: one query per strategy for every series) and extends it: the same
rows as the batch, bit for bit (``tests/live/test_tracks.py``, ``test_live_equals_batch.py``).

A (strategy, series) whose extension fails is named to ``alert`` and dropped: its next step
starts it again from the whole history. A delisted symbol's ledger, which the delisting
closes on its own terms, is recomputed whole (:func:`hermes.paper.ledger.compute_group`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from hermes.backtest.config import BacktestConfig
from hermes.lake import DataError, identifier
from hermes.live.client import CandleError, ExchangeError
from hermes.live.sources import SeriesKey
from hermes.live.tracks import Bars, Track
from hermes.live.warm import WarmLake
from hermes.paper.activation import Activation, PaperError, activation_of
from hermes.paper.feed import feed_row, feed_strategies
from hermes.paper.ledger import compute_group, compute_series
from hermes.paper.rows import equity_table, order_rows, position_row
from hermes.paper.series import SeriesLedger, Waiting, paper_slice
from hermes.signals.errors import StrategyError
from hermes.signals.registry import Strategy
from hermes.signals.source import SignalSource
from hermes.universe import delistings

SERIES_ERRORS = (CandleError, ExchangeError, DataError, PaperError, StrategyError)
"""What stops one series for one step (named in an alert), not the others."""
Alert = Callable[[SeriesKey, str], None]
TrackKey = tuple[str, str, str]  # (strategy, symbol, interval)


def rows_after(
    conn: duckdb.DuckDBPyConnection,
    strategy_id: str,
    flags: tuple[str, ...],
    after: Mapping[SeriesKey, np.datetime64],
) -> dict[SeriesKey, Bars]:
    """Each series' bars opening after ``after[series]``: the feature table's prices and the
    strategy's signals and component flags (NULL flags are False, as the batch reads them);
    :class:`DataError` naming the series and bar when a signal is missing."""
    if not after:
        return {}
    keys = list(after)
    marks = pa.table(
        {
            "symbol": [k[0] for k in keys],
            "interval": [k[1] for k in keys],
            "after": pa.array([after[k] for k in keys], pa.timestamp("us")),
        }
    )
    table = identifier(f"gold_signals_{strategy_id}")
    extra = "".join(f", s.{identifier(f)}" for f in flags)
    prices = "".join(f", cast(f.{n} as double) as {n}" for n in ("open", "high", "low", "close"))
    conn.register("live_after", marks)
    try:
        arrow = conn.execute(  # validated identifiers
            f"select f.symbol, f.interval, f.open_time{prices}, s.buy_signal, s.sell_signal{extra} "  # noqa: S608
            "from live_features as f inner join live_after as a on f.symbol = a.symbol "
            "and f.interval = a.interval and f.open_time > a.after "
            f"left join {table} as s on s.symbol = f.symbol and s.interval = f.interval "
            "and s.open_time = f.open_time order by f.symbol, f.interval, f.open_time"
        ).to_arrow_table()
    finally:
        conn.unregister("live_after")
    symbols = arrow.column("symbol").to_pylist()
    intervals = arrow.column("interval").to_pylist()
    out = {}
    for key in keys:
        at = [i for i, k in enumerate(zip(symbols, intervals, strict=True)) if k == key]
        if not at:
            continue
        part = arrow.take(pa.array(at, pa.int64()))
        times = part.column("open_time").to_numpy().astype("datetime64[us]")
        for name in ("buy_signal", "sell_signal"):
            column = part.column(name)
            if column.null_count:
                first = times[np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0]]
                raise DataError(
                    f"strategy {strategy_id}: gold_signals_{strategy_id} has no {name} for "
                    f"the {key[0]} {key[1]} bar {first}"
                )
        out[key] = Bars(
            times,
            {n: part.column(n).to_numpy() for n in ("open", "high", "low", "close")},
            part.column("buy_signal").to_numpy(zero_copy_only=False).astype(bool),
            part.column("sell_signal").to_numpy(zero_copy_only=False).astype(bool),
            {
                f: part.column(f).fill_null(False).to_numpy(zero_copy_only=False).astype(bool)
                for f in flags
            },
        )
    return out


@dataclass
class LedgerTrack:
    """A paper ledger kept whole (``ledger``) with the track that extends it."""

    ledger: SeriesLedger
    track: Track
    peak: float  # the equity's peak so far (with the initial cash): the drawdown's base

    @classmethod
    def start(
        cls,
        source: SignalSource,
        strategy: Strategy,
        activation: Activation,
        key: SeriesKey,
        snapshot: int,
        *,
        end: datetime | None = None,
    ) -> LedgerTrack:
        """The ledger as the batch computes it (bars before ``end``); :class:`Waiting`
        before ``paper_since``."""
        symbol, interval = key
        ledger = compute_series(
            source, strategy, activation, symbol, interval, snapshot=snapshot, end=end
        )
        data = paper_slice(source, strategy, activation, symbol, interval, end=end)
        bars = Bars(data.open_time, data.prices, data.entries, data.exits)
        equity = ledger.equity.column("equity").to_numpy()
        peak = max(activation.config.init_cash, float(equity.max()))
        return cls(ledger, Track.start(activation.config, bars), peak)

    def extend(self, bars: Bars) -> SeriesLedger:
        """The ledger with the rows of ``bars`` added (what compute_series gives for them)."""
        added = self.track.extend(bars)
        if not added:
            return self.ledger
        t, old = self.track, self.ledger
        strategy, activation = old.strategy, old.activation
        symbol, interval = old.symbol, old.interval
        config, sid = activation.config, strategy.strategy_id
        new = slice(len(t.open_time) - added, None)
        times, close = t.open_time[new], t.prices["close"][new]
        equity, position = t.equity[new], t.position[new]
        cash = equity - position * close
        base = {"strategy_id": sid, "paper_since": activation.since, "interval": interval}
        rows = equity_table(base, symbol, times, close, position, cash, equity, self.peak)
        self.peak = max(self.peak, float(equity.max()))
        records, ids = t.new_orders(added)
        orders = order_rows(
            records, t.open_time, t.exits[:, None], config.fill, sid, activation.since,
            interval, [symbol],
        )  # fmt: skip
        at = orders.schema.get_field_index("order_id")
        orders = orders.set_column(at, "order_id", pa.array(ids.astype(np.int64), pa.int64()))
        state = position_row(
            base, symbol, t.open_time, t.trades, 0, position[-1], close[-1], cash[-1], equity[-1]
        )
        state |= {"config": config.as_json, "parameters": strategy.parameters_json}
        self.ledger = SeriesLedger(
            strategy, activation, symbol, interval,
            pa.concat_tables([old.orders, orders]), pa.concat_tables([old.equity, rows]),
            [state], t.closed_returns(),
        )  # fmt: skip
        return self.ledger


class Follower:
    """Feed rows and paper ledgers of the warm lake's series, extended step by step."""

    def __init__(self, warm: WarmLake, snapshot: int) -> None:
        self.warm = warm
        self.snapshot = snapshot
        live = {s.strategy_id for s in warm.strategies}
        self.strategies: list[tuple[Strategy, SignalSource, BacktestConfig]] = [
            entry for entry in feed_strategies(warm.conn) if entry[0].strategy_id in live
        ]
        self.feed_tracks: dict[TrackKey, tuple[Track, dict[str, bool]]] = {}
        self.ledger_tracks: dict[TrackKey, LedgerTrack] = {}

    def feed(self, keys: list[SeriesKey], now: datetime, alert: Alert) -> list[dict[str, Any]]:
        """The feed rows of these series (their last bars must be visible in the warm
        lake's views for a (strategy, series) not followed yet)."""
        rows = []
        for key, message in self.warm.take_alerts():  # e.g. a series' ML held back
            alert(key, message)
        for strategy, source, config in self.strategies:
            sid = strategy.strategy_id
            mine = self._followed(sid, keys, self.feed_tracks)
            known = {k: self.feed_tracks[(sid, *k)][0].last_open for k in mine
                     if (sid, *k) in self.feed_tracks}  # fmt: skip
            new, failed = self._read(sid, source, known, alert)
            for key in mine:
                if key in failed:
                    continue
                try:
                    track, flags = self._feed_track(strategy, source, config, key, new)
                except SERIES_ERRORS as exc:
                    self.feed_tracks.pop((sid, *key), None)
                    alert(key, f"{sid}: {exc}")
                    continue
                if track is None:
                    continue
                rows.append(
                    feed_row(
                        strategy, key[0], key[1], track.last_open.astype(datetime),
                        held=track.held, entry=bool(track.entries[-1]),
                        exit_=bool(track.exits[-1]), price=float(track.prices["close"][-1]),
                        flags=flags, now=now, snapshot=self.snapshot,
                    )
                )  # fmt: skip
        return rows

    def ledgers(self, keys: list[SeriesKey], alert: Alert) -> list[SeriesLedger]:
        """The extended ledger of each paper-traded series among ``keys`` (a series before
        its ``paper_since`` has none yet)."""
        out = []
        for strategy, source, _ in self.strategies:
            activation = activation_of(strategy)
            if activation is None or activation.portfolio:
                continue
            sid = strategy.strategy_id
            mine = self._followed(sid, [k for k in keys if k[1] in activation.intervals],
                                  self.ledger_tracks)  # fmt: skip
            known = {k: self.ledger_tracks[(sid, *k)].track.last_open for k in mine
                     if (sid, *k) in self.ledger_tracks}  # fmt: skip
            new, failed = self._read(sid, source, known, alert)
            for key in mine:
                if key in failed:
                    continue
                try:
                    ledger = self._ledger(strategy, source, activation, key, new)
                except Waiting:
                    continue
                except SERIES_ERRORS as exc:
                    self.ledger_tracks.pop((sid, *key), None)
                    alert(key, f"{sid}: {exc}")
                    continue
                out.append(ledger)
        return out

    # -- inside

    def _followed(
        self, sid: str, keys: list[SeriesKey], tracks: dict[TrackKey, Any]
    ) -> list[SeriesKey]:
        """``keys`` but the series held back from the strategy (an ML strategy whose block
        has no model yet): their tracks are dropped, to start again from the whole history
        once the series is predicted again."""
        held = [k for k in keys if self.warm.ml_held(sid, k)]
        for key in held:
            tracks.pop((sid, *key), None)
        return [k for k in keys if k not in held]

    def _read(
        self,
        sid: str,
        source: SignalSource,
        known: dict[SeriesKey, np.datetime64],
        alert: Alert,
    ) -> tuple[dict[SeriesKey, Bars], set[SeriesKey]]:
        """The new bars of the followed series; when the read fails, every one of them is
        named, skipped this step and started again from the whole history on the next."""
        try:
            return rows_after(self.warm.conn, sid, source.model.flags, known), set()
        except SERIES_ERRORS as exc:
            for key in known:
                self.feed_tracks.pop((sid, *key), None)
                self.ledger_tracks.pop((sid, *key), None)
                alert(key, f"{sid}: {exc}")
            return {}, set(known)

    def _feed_track(
        self,
        strategy: Strategy,
        source: SignalSource,
        config: BacktestConfig,
        key: SeriesKey,
        new: dict[SeriesKey, Bars],
    ) -> tuple[Track | None, dict[str, bool]]:
        name = (strategy.strategy_id, *key)
        if name in self.feed_tracks:
            track, flags = self.feed_tracks[name]
            bars = new.get(key)
            if bars is not None and track.extend(bars):
                flags = {f: bool(v[-1]) for f, v in bars.flags.items()}
                self.feed_tracks[name] = (track, flags)
            return track, flags
        series = source.series(*key, end=None, parameters=strategy.parameters)
        if not len(series.open_time):
            return None, {}
        bars = Bars(series.open_time, series.prices, series.entries, series.exits)
        flags = {f: bool(v[-1]) for f, v in series.flags.items()}
        track = Track.start(config, bars)
        self.feed_tracks[name] = (track, flags)
        return track, flags

    def _ledger(
        self,
        strategy: Strategy,
        source: SignalSource,
        activation: Activation,
        key: SeriesKey,
        new: dict[SeriesKey, Bars],
    ) -> SeriesLedger:
        name = (strategy.strategy_id, *key)
        if key[0] in delistings():  # closed on the delisting's own terms: recomputed whole
            return compute_group(
                source, strategy, activation, [key[0]], key[1], snapshot=self.snapshot
            )
        if name not in self.ledger_tracks:
            self.ledger_tracks[name] = LedgerTrack.start(
                source, strategy, activation, key, self.snapshot
            )
            return self.ledger_tracks[name].ledger
        bars = new.get(key)
        follow = self.ledger_tracks[name]
        return follow.extend(bars) if bars is not None else follow.ledger
