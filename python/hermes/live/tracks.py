"""One strategy's simulation of one series, extended bar by bar instead of re-run.

Re-running the backtest engine over a series' whole history on every bar costs milliseconds
per strategy and series (20-40 ms over 18,000 4h bars), for a bar that usually changes
nothing but the valuation. A :class:`Track`
keeps what the engine needs to go on instead, and gives the same numbers bit for bit:

* the engine decides each bar from the state before it (signals fill at the next open, or
  at the deciding bar's close), and after a bar where the position is flat that state is
  the cash alone. So the track keeps only the bars since the last flat bar (its *anchor*)
  and the engine's cash there; running the engine over those bars from that cash gives the
  whole run's equity, positions and orders for them, to the bit (tested bar by bar on the
  bundled history against the whole run);
* a new bar on which no order can fill (flat with no entry to fill; holding with no exit
  to fill and no stop set) changes only the valuation: equity = cash + close x position,
  the engine's own arithmetic (:func:`hermes.backtest.engine.value_assets_cash`), and the
  engine is not called at all; otherwise it runs over the bars since the anchor;
* with a drawdown circuit breaker (it watches the equity's peak since the first bar) the
  anchor stays on the first bar: an extension that can trade re-runs the whole period.

The engine's run is :func:`hermes.backtest.fills.simulate`, the engine's arithmetic for one
series without vectorbt (whose import, with pandas, SciPy and scikit-learn, would cost the
live process 156 MB): the same numbers as :func:`hermes.backtest.engine.simulate`, to the bit.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from hermes.backtest.config import BacktestConfig
from hermes.backtest.fills import simulate

PRICES = ("open", "high", "low", "close")


@dataclass
class Bars:
    """New bars of one series: open times (datetime64[us]), prices, signals, flags."""

    open_time: np.ndarray
    prices: dict[str, np.ndarray]
    entries: np.ndarray
    exits: np.ndarray
    flags: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.open_time)


@dataclass
class Track:
    """The engine's run of one series from its anchor on (see the module's docstring).

    Arrays hold the bars since the anchor; ``orders`` / ``trades`` are the engine's records
    of those bars (bar indices counted from the anchor); ``orders_before`` and
    ``returns_before`` what was filled and closed up to the anchor."""

    config: BacktestConfig
    open_time: np.ndarray
    prices: dict[str, np.ndarray]
    entries: np.ndarray
    exits: np.ndarray
    init_cash: float
    equity: np.ndarray = field(default_factory=lambda: np.array([], float))
    position: np.ndarray = field(default_factory=lambda: np.array([], float))
    cash: np.ndarray = field(default_factory=lambda: np.array([], float))
    orders: np.ndarray = field(default_factory=lambda: np.array([]))
    trades: np.ndarray = field(default_factory=lambda: np.array([]))
    orders_before: int = 0
    returns_before: np.ndarray = field(default_factory=lambda: np.array([], float))

    @classmethod
    def start(cls, config: BacktestConfig, bars: Bars) -> Track:
        """The engine's run over ``bars`` (a whole period), kept to be extended."""
        track = cls(
            config,
            bars.open_time.astype("datetime64[us]"),
            {n: np.asarray(bars.prices[n], float) for n in PRICES},
            np.asarray(bars.entries, bool),
            np.asarray(bars.exits, bool),
            config.init_cash,
        )
        track._simulate()
        return track

    @property
    def last_open(self) -> np.datetime64:
        return self.open_time[-1]

    @property
    def held(self) -> bool:
        """Whether a position is held after the last bar."""
        return bool(self.position[-1] > 0)

    def extend(self, bars: Bars) -> int:
        """Add bars after the last one (oldest first); returns how many were added."""
        if not len(bars):
            return 0
        self._anchor()
        start = len(self.open_time)
        self.open_time = np.concatenate([self.open_time, bars.open_time.astype("datetime64[us]")])
        for name in PRICES:
            self.prices[name] = np.concatenate([self.prices[name], bars.prices[name]])
        self.entries = np.concatenate([self.entries, np.asarray(bars.entries, bool)])
        self.exits = np.concatenate([self.exits, np.asarray(bars.exits, bool)])
        if not self._value_only(start):
            self._simulate()
        return len(bars)

    def new_orders(self, added: int) -> tuple[np.ndarray, np.ndarray]:
        """The engine's order records filled on the last ``added`` bars, and their order
        numbers in the whole run (0 for its first order)."""
        first = len(self.open_time) - added
        ids = np.flatnonzero(self.orders["idx"] >= first) if len(self.orders) else np.array([], int)
        return self.orders[ids], ids + self.orders_before

    def closed_returns(self) -> np.ndarray:
        """Closed trades' returns over the whole run."""
        trades = self.trades
        closed = trades[trades["status"] == 1] if len(trades) else trades
        mine = closed["return"].astype(float) if len(closed) else np.array([], float)
        return np.concatenate([self.returns_before, mine])

    # -- inside

    def _simulate(self) -> None:
        config = replace(self.config, init_cash=self.init_cash)
        sim = simulate(self.prices, self.entries, self.exits, config)
        assert sim.cash is not None
        self.equity = np.asarray(sim.equity, float)
        self.position = np.asarray(sim.position, float)
        self.cash = np.asarray(sim.cash, float)
        self.orders = sim.orders if sim.orders is not None else np.array([])
        self.trades = sim.trades

    def _value_only(self, start: int) -> bool:
        """Value bars ``start:`` without the engine when no order can fill on them; False
        (nothing changed) when one may."""
        config = self.config
        if config.max_drawdown_halt is not None:
            return False
        same_bar = config.fill == "same_close"
        position, cash = float(self.position[-1]), float(self.cash[-1])
        equity = []
        for i in range(start, len(self.open_time)):
            decided = i if same_bar else i - 1
            entry, exit_ = bool(self.entries[decided]), bool(self.exits[decided])
            if position != 0:
                if config.has_stops or (exit_ and not entry):
                    return False
                equity.append(cash + self.prices["close"][i] * position)
            else:
                if entry and not exit_:
                    return False
                equity.append(cash)
        added = len(equity)
        self.equity = np.concatenate([self.equity, np.asarray(equity, float)])
        self.position = np.concatenate([self.position, np.full(added, position)])
        self.cash = np.concatenate([self.cash, np.full(added, cash)])
        return True

    def _anchor(self) -> None:
        """Drop the bars before the last bar after which the position is flat: the engine's
        cash there is all the run needs to go on."""
        if self.config.max_drawdown_halt is not None:
            return
        flat = np.flatnonzero(self.position == 0)
        if not len(flat) or flat[-1] == 0:
            return
        k = int(flat[-1])
        if len(self.orders):
            self.orders_before += int(np.count_nonzero(self.orders["idx"] <= k))
            orders = self.orders[self.orders["idx"] > k].copy()
            orders["idx"] -= k
            self.orders = orders
        if len(self.trades):
            done = self.trades[self.trades["entry_idx"] <= k]  # all closed by bar k
            closed = done[done["status"] == 1]["return"].astype(float)
            self.returns_before = np.concatenate([self.returns_before, closed])
            trades = self.trades[self.trades["entry_idx"] > k].copy()
            trades["entry_idx"] -= k
            trades["exit_idx"] -= k
            self.trades = trades
        self.init_cash = float(self.cash[k])
        keep = slice(k, None)
        self.open_time = self.open_time[keep]
        self.prices = {n: v[keep] for n, v in self.prices.items()}
        self.entries, self.exits = self.entries[keep], self.exits[keep]
        self.equity, self.position = self.equity[keep], self.position[keep]
        self.cash = self.cash[keep]
