"""The backtest engine's fills for one series without vectorbt, bit for bit.

Hand-written because vectorbt's kernels cannot be imported without its whole package (with
pandas, SciPy and scikit-learn: 156 MB of the live process, docs/live-signals.md).

:func:`simulate` gives what :func:`hermes.backtest.engine.simulate` gives for one series
(``prices`` and signals of shape (n,)): the same order records, trade records, equity,
position and cash, to the bit. It repeats, for exactly the settings the engine passes to
``Portfolio.from_signals`` (long only, ``size_type="percent"`` of the cash, no accumulation,
entry and exit at the same time ignored, fees and slippage as fractions, vectorbt's default
``min_size`` and ``stop_exit_price="stoplimit"``, the engine's stops), the floating-point
operations of vectorbt 1.2.0 (``vectorbt/portfolio/nb.py``) in the same order:

* the order loop of ``simulate_from_signals_nb`` with ``buy_nb`` / ``sell_nb`` /
  ``execute_order_nb`` (the cash state is snapped to 0 when within vectorbt's tolerances;
  a buy spends ``size`` times the cash: ``fees`` are ``cash - cash / (1 + fees)``);
* the stop prices of ``get_stop_price_nb`` (the stop-loss first; a bar opening beyond a stop
  exits at its open);
* ``asset_flow_nb`` / ``assets_nb``, ``cash_flow_nb`` / ``cash_nb`` and the value
  (``cash + close x assets``) the engine reads (:func:`hermes.backtest.engine.value_assets_cash`);
* the exit-trade records of ``get_exit_trades_nb`` (an open trade valued at the last close).

Python floats are IEEE doubles, and neither numba nor the Rust engine fuses or reorders
these operations, so the bits are the same; ``tests/backtest/test_fills.py`` compares both
on the bundled and shared real series. The debt and free cash vectorbt also tracks only
matter for short selling or locked cash, which the engine does not use; they are left out.
Research backtests (many columns, shared cash, grids) keep vectorbt.
"""

from __future__ import annotations

import math

import numpy as np

from hermes.backtest.config import BacktestConfig
from hermes.backtest.engine import SignalRows, Simulation, settle, signal_rows

ORDER_DT = np.dtype(
    {
        "names": ["id", "col", "idx", "size", "price", "fees", "side"],
        "formats": ["<i8", "<i8", "<i8", "<f8", "<f8", "<f8", "<i8"],
        "offsets": [0, 8, 16, 24, 32, 40, 48],
        "itemsize": 56,
        "aligned": True,
    }
)
"""vectorbt's ``order_dt``."""
TRADE_DT = np.dtype(
    {
        "names": [
            "id",
            "col",
            "size",
            "entry_idx",
            "entry_price",
            "entry_fees",
            "exit_idx",
            "exit_price",
            "exit_fees",
            "pnl",
            "return",
            "direction",
            "status",
            "parent_id",
        ],  # fmt: skip
        "formats": [
            "<i8",
            "<i8",
            "<f8",
            "<i8",
            "<f8",
            "<f8",
            "<i8",
            "<f8",
            "<f8",
            "<f8",
            "<f8",
            "<i8",
            "<i8",
            "<i8",
        ],  # fmt: skip
        "offsets": [0, 8, 16, 24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104],
        "itemsize": 112,
        "aligned": True,
    }
)
"""vectorbt's ``trade_dt``."""

REL_TOL, ABS_TOL = 1e-9, 1e-12  # vectorbt.utils.math_
MIN_SIZE = 1e-8  # vectorbt's default min_size
FIXED_FEES = 0.0
BUY, SELL = 0, 1  # OrderSide
LONG = 0  # TradeDirection
OPEN, CLOSED = 0, 1  # TradeStatus


def _is_close(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b) or math.isinf(a) or math.isinf(b):
        return False
    if a == b:
        return True
    return abs(a - b) <= max(REL_TOL * max(abs(a), abs(b)), ABS_TOL)


def _is_less(a: float, b: float) -> bool:
    return False if _is_close(a, b) else a < b


def _sign(a: float) -> float:
    return float((a > 0) - (a < 0))


def _add(a: float, b: float) -> float:
    """``add_nb``: a sum vectorbt's tolerances call zero is 0.0."""
    if _sign(a) != _sign(b):
        zero = _is_close(abs(a), abs(b))
    else:
        zero = _is_close(a + b, 0.0)
    return 0.0 if zero else a + b


def _stop_price(
    entry: float, stop: float, open_: float, low: float, high: float, below: bool
) -> float:
    """``get_stop_price_nb`` for a long position: the exit price, or NaN (not hit)."""
    price = entry * (1 - stop) if below else entry * (1 + stop)
    if (open_ <= price) if below else (price <= open_):
        return open_
    if low <= price <= high:
        return price
    return math.nan


def _orders(rows: SignalRows, config: BacktestConfig) -> list[tuple[int, float, float, float, int]]:
    """The filled orders (row, size, price, fees, side) of ``simulate_from_signals_nb``."""
    price, entries, exits = rows.price.tolist(), rows.entries.tolist(), rows.exits.tolist()
    opens, highs, lows = rows.open.tolist(), rows.high.tolist(), rows.low.tolist()
    closes = rows.close.tolist()
    use_stops = config.has_stops
    sl = math.nan if config.sl_stop is None else float(config.sl_stop)
    tp = math.nan if config.tp_stop is None else float(config.tp_stop)
    fees, slippage, size = float(config.fees), float(config.slippage), float(config.size)
    if _is_less(size, 0):  # pragma: no cover - the config refuses it
        raise ValueError("Negative size is not allowed")
    cash, position = float(config.init_cash), 0.0
    sl_price = tp_price = sl_stop = tp_stop = math.nan
    out = []
    for i in range(len(price)):
        if position == 0:  # flat (no stop is set): only an entry can fill
            if not entries[i]:
                continue
        elif not use_stops and not exits[i]:  # holding: only an exit (or a stop) can fill
            continue
        order_price, order_slippage = price[i], slippage
        stop_price = math.nan
        if use_stops and not (math.isnan(sl_stop) and math.isnan(tp_stop)) and position > 0:
            if not math.isnan(sl_stop):
                stop_price = _stop_price(sl_price, sl_stop, opens[i], lows[i], highs[i], True)
            if math.isnan(stop_price) and not math.isnan(tp_stop):
                stop_price = _stop_price(tp_price, tp_stop, opens[i], lows[i], highs[i], False)
        if not math.isnan(stop_price):  # a stop comes first: sold at the stop, no slippage
            entry, exit_ = False, True
            order_price, order_slippage = stop_price, 0.0
        else:
            entry, exit_ = entries[i], exits[i]
            if entry and exit_:  # upon_long_conflict="ignore"
                entry = exit_ = False
        if position > 0:
            if not exit_:
                continue
            buy, order_size = False, position  # close the position
        elif position == 0 and entry:
            buy, order_size = True, math.inf  # percent of the cash
        else:
            continue
        if not math.isfinite(order_price) or order_price <= 0:
            raise ValueError(f"order price {order_price!r} at row {i} must be finite and > 0")
        # execute_order_nb: the state snapped to 0 within the tolerances
        before = position
        cash = 0.0 if _is_close(cash, 0) else cash
        position = 0.0 if _is_close(position, 0) else position
        if buy:
            adj_price = order_price * (1 + order_slippage)
            cash_limit = min(cash, size * cash)
            if cash_limit == 0:
                continue  # rejected: no cash
            # the size is infinite: the cash limit always binds
            max_req_cash = _add(cash_limit, -FIXED_FEES) / (1 + fees)
            if max_req_cash <= 0:
                continue  # rejected: cannot cover the fees
            filled = max_req_cash / adj_price
            fees_paid = cash_limit - max_req_cash
            if _is_less(filled, MIN_SIZE):
                continue  # rejected: below the minimum size
            cash = _add(cash, -cash_limit)
            position = _add(position, filled)
            out.append((i, filled, adj_price, fees_paid, BUY))
            if before == 0 and position != 0:  # opened: the stops start from here
                entry_price = adj_price if rows.stop_entry_price == "fillprice" else closes[i]
                sl_price = tp_price = entry_price
                sl_stop, tp_stop = sl, tp
        else:
            adj_price = order_price * (1 - order_slippage)
            limit = min(position, order_size)
            if position == 0 or _is_close(limit, 0) or _is_less(limit, MIN_SIZE):
                continue  # rejected or ignored: nothing to sell
            acq_cash = limit * adj_price
            fees_paid = acq_cash * fees + FIXED_FEES
            final_acq_cash = _add(acq_cash, -fees_paid)
            if final_acq_cash < 0:  # pragma: no cover - fees < 1
                continue
            cash = cash + final_acq_cash
            position = _add(position, -limit)
            out.append((i, limit, adj_price, fees_paid, SELL))
            if position == 0:  # closed: the stops are cleared
                sl_price = tp_price = sl_stop = tp_stop = math.nan
    return out


def _levels(start: float, idx: np.ndarray, flows: list[float], n: int) -> np.ndarray:
    """``assets_nb`` / ``cash_nb`` over rows whose only changes are ``flows`` at ``idx``:
    each row adds its flow (``add_nb``; a row without an order adds 0.0, which changes no
    value ``add_nb`` returned)."""
    level, after = start, []
    for flow in flows:
        level = _add(level, _add(0.0, flow))
        after.append(level)
    values = np.array([_add(start, 0.0), *after], dtype=float)
    return values[np.searchsorted(idx, np.arange(n), side="right")]


def _trades(
    orders: list[tuple[int, float, float, float, int]], last_close: float, last: int
) -> np.ndarray:
    """``get_exit_trades_nb`` for alternating buys and sells of one column."""
    out = []
    size_sum = gross_sum = fees_sum = 0.0
    entry_idx = -1
    for i, size, price, fees, side in orders:
        if side == BUY:
            entry_idx = i
            size_sum, gross_sum, fees_sum = 0.0 + size, 0.0 + size * price, 0.0 + fees
            continue
        exit_size = size_sum if _is_close(size, size_sum) else size
        out.append((entry_idx, size_sum, gross_sum, fees_sum, exit_size, i, price, fees, CLOSED))
        entry_idx = -1
    if entry_idx >= 0 and _is_less(-size_sum, 0):
        out.append((entry_idx, size_sum, gross_sum, fees_sum, size_sum, last, last_close, 0.0,
                    OPEN))  # fmt: skip
    records = np.zeros(len(out), dtype=TRADE_DT)
    for t, (entry, size_sum, gross_sum, fees_sum, size, exit_idx, exit_price, exit_fees,
            status) in enumerate(out):  # fmt: skip
        entry_price = gross_sum / size_sum
        entry_fees = size / size_sum * fees_sum
        entry_val, exit_val = size * entry_price, size * exit_price
        pnl = _add(exit_val, -entry_val) - entry_fees - exit_fees
        records[t] = (t, 0, size, entry, entry_price, entry_fees, exit_idx, exit_price,
                      exit_fees, pnl, pnl / entry_val, LONG, status, t)  # fmt: skip
    return records


def simulate(
    prices: dict[str, np.ndarray],
    entries: np.ndarray,
    exits: np.ndarray,
    config: BacktestConfig,
) -> Simulation:
    """:func:`hermes.backtest.engine.simulate` of one series (arrays (n,)), without vectorbt."""
    if np.ndim(entries) != 1:
        raise ValueError("fills.simulate takes one series: entries of shape (n,)")

    def once(allowed: np.ndarray) -> Simulation:
        rows = signal_rows(prices, allowed, exits, config)
        n, step = len(rows.close), rows.step
        orders = _orders(rows, config)
        idx = np.array([o[0] for o in orders], dtype=np.int64)
        signed = [o[1] if o[4] == BUY else -o[1] for o in orders]
        assets = _levels(0.0, idx, signed, n)
        flows = [-s * o[2] - o[3] for s, o in zip(signed, orders, strict=True)]  # cash_flow_nb
        cash = _levels(float(config.init_cash), idx, flows, n)
        close = np.array(rows.close, dtype=float)
        close[assets == 0] = 0.0
        value = cash + close * assets
        records = np.zeros(len(orders), dtype=ORDER_DT)
        for k, (i, size, price, fees, side) in enumerate(orders):
            records[k] = (k, 0, i // step, size, price, fees, side)
        trades = _trades(orders, float(rows.close[-1]), n - 1) if n else np.zeros(0, TRADE_DT)
        trades["entry_idx"] //= step
        trades["exit_idx"] //= step
        bars = slice(step - 1, None, step)
        return Simulation(
            equity=value[bars],
            position=assets[bars],
            trades=trades,
            fills=len(orders),
            orders=records,
            cash=cash[bars],
        )

    return settle(once, np.asarray(entries, dtype=bool), config)
