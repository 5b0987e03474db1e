"""The recursive columns of ``gold_features`` for one (symbol, interval) series.

The dbt Python model ``gold_recursive_indicators`` calls :func:`compute` on a whole series
(full build) or :func:`resume` on the bars that follow the last stored bar (incremental
refresh). Besides the feature columns it returns ``state_*`` columns: the recursion state
of each bar (Wilder averages, final SuperTrend bands, MACD's EMAs). Resuming from the
stored state of the last bar continues exactly the same floating-point recursion, so an
incremental refresh equals a full rebuild bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hermes.indicators._inputs import Array
from hermes.indicators.atr import atr, atr_continue
from hermes.indicators.macd import macd_continue, macd_state
from hermes.indicators.moving_average import ema, ema_continue
from hermes.indicators.rsi import rsi_continue, rsi_wilder
from hermes.indicators.supertrend import supertrend_continue, supertrend_state


def suffix(*params: float) -> str:
    """Column-name suffix of indicator parameters: ``(10, 3.0)`` -> ``10_3``, 2.5 -> ``2_5``."""
    parts = []
    for value in params:
        number = float(value)
        parts.append(str(int(number)) if number.is_integer() else repr(number).replace(".", "_"))
    return "_".join(parts)


def _as_list(value: Any) -> list[Any]:
    """A list var as dbt hands it to a Python model (a list, or its string rendering)."""
    if isinstance(value, str):
        import ast

        value = ast.literal_eval(value)
    return list(value or [])


@dataclass(frozen=True)
class RecursiveParams:
    """Parameters of the recursive indicators (dbt vars ``feature_*``)."""

    ema: tuple[int, ...] = (12, 26, 50, 200)
    rsi: tuple[int, ...] = (14,)
    atr: tuple[int, ...] = (14,)
    supertrend: tuple[tuple[int, float], ...] = ((10, 3.0),)
    macd: tuple[tuple[int, int, int], ...] = ((12, 26, 9),)

    @classmethod
    def from_config(cls, get: Callable[[str], Any]) -> RecursiveParams:
        """From a model's config (``dbt.config.get``), falling back to the defaults."""
        default = cls()

        def read(key: str, fallback: Sequence[Any]) -> list[Any]:
            value = get(key)
            return _as_list(value) if value is not None else list(fallback)

        return cls(
            ema=tuple(int(p) for p in read("ema_periods", default.ema)),
            rsi=tuple(int(p) for p in read("rsi_periods", default.rsi)),
            atr=tuple(int(p) for p in read("atr_periods", default.atr)),
            supertrend=tuple(
                (int(p), float(m)) for p, m in read("supertrend_params", default.supertrend)
            ),
            macd=tuple((int(f), int(s), int(g)) for f, s, g in read("macd_params", default.macd)),
        )

    def feature_columns(self) -> list[str]:
        """The feature columns, in table order."""
        columns = [f"ema_{p}" for p in self.ema]
        columns += [f"rsi_{p}" for p in self.rsi]
        columns += [f"atr_{p}" for p in self.atr]
        for period, multiplier in self.supertrend:
            s = suffix(period, multiplier)
            columns += [f"supertrend_{s}", f"supertrend_dir_{s}"]
        for params in self.macd:
            s = suffix(*params)
            columns += [f"macd_{s}", f"macd_signal_{s}", f"macd_hist_{s}"]
        return columns

    def state_columns(self) -> list[str]:
        """Recursion state stored next to the features (beyond the features themselves)."""
        columns = []
        for p in self.rsi:
            columns += [f"state_rsi_{p}_avg_gain", f"state_rsi_{p}_avg_loss"]
        for period, multiplier in self.supertrend:
            s = suffix(period, multiplier)
            columns += [f"state_supertrend_{s}_atr", f"state_supertrend_{s}_upper"]
            columns += [f"state_supertrend_{s}_lower"]
        for params in self.macd:
            s = suffix(*params)
            columns += [f"state_macd_{s}_fast_ema", f"state_macd_{s}_slow_ema"]
        return columns


def compute(high: Array, low: Array, close: Array, params: RecursiveParams) -> dict[str, Array]:
    """Feature and state columns of a whole series (NaN inside each warm-up)."""
    out: dict[str, Array] = {}
    for p in params.ema:
        out[f"ema_{p}"] = ema(close, p)
    for p in params.rsi:
        value, gain, loss = rsi_wilder(close, p)
        out[f"rsi_{p}"] = value
        out[f"state_rsi_{p}_avg_gain"], out[f"state_rsi_{p}_avg_loss"] = gain, loss
    for p in params.atr:
        out[f"atr_{p}"] = atr(high, low, close, p)
    for period, multiplier in params.supertrend:
        _put_supertrend(
            out, suffix(period, multiplier), supertrend_state(high, low, close, period, multiplier)
        )
    for fast, slow, signal in params.macd:
        _put_macd(out, suffix(fast, slow, signal), macd_state(close, fast, slow, signal))
    return out


def resume(
    high: Array,
    low: Array,
    close: Array,
    params: RecursiveParams,
    last: Mapping[str, float],
) -> dict[str, Array]:
    """Feature and state columns of the bars following a stored bar.

    ``last`` is that bar's row (``close`` and every feature and state column, all defined:
    see :func:`is_resumable`).
    """
    previous_close = last["close"]
    out: dict[str, Array] = {}
    for p in params.ema:
        out[f"ema_{p}"] = ema_continue(close, p, last[f"ema_{p}"])
    for p in params.rsi:
        value, gain, loss = rsi_continue(
            close,
            p,
            previous_close,
            last[f"state_rsi_{p}_avg_gain"],
            last[f"state_rsi_{p}_avg_loss"],
        )
        out[f"rsi_{p}"] = value
        out[f"state_rsi_{p}_avg_gain"], out[f"state_rsi_{p}_avg_loss"] = gain, loss
    for p in params.atr:
        out[f"atr_{p}"] = atr_continue(high, low, close, p, previous_close, last[f"atr_{p}"])
    for period, multiplier in params.supertrend:
        s = suffix(period, multiplier)
        state = supertrend_continue(
            high,
            low,
            close,
            period,
            multiplier,
            previous_close,
            last[f"state_supertrend_{s}_atr"],
            last[f"state_supertrend_{s}_upper"],
            last[f"state_supertrend_{s}_lower"],
            last[f"supertrend_dir_{s}"],
        )
        _put_supertrend(out, s, state)
    for fast, slow, signal in params.macd:
        s = suffix(fast, slow, signal)
        macd = macd_continue(
            close,
            fast,
            slow,
            signal,
            last[f"state_macd_{s}_fast_ema"],
            last[f"state_macd_{s}_slow_ema"],
            last[f"macd_signal_{s}"],
        )
        _put_macd(out, s, macd)
    return out


def is_resumable(last: Mapping[str, Any], params: RecursiveParams) -> bool:
    """Whether a stored bar carries every state needed to resume (past every warm-up)."""
    names = ["close", *params.feature_columns(), *params.state_columns()]
    return all(last.get(n) is not None and not np.isnan(float(last[n])) for n in names)


def _put_supertrend(out: dict[str, Array], s: str, state: Any) -> None:
    out[f"supertrend_{s}"] = state.line
    out[f"supertrend_dir_{s}"] = state.direction
    out[f"state_supertrend_{s}_atr"] = state.atr
    out[f"state_supertrend_{s}_upper"] = state.upper
    out[f"state_supertrend_{s}_lower"] = state.lower


def _put_macd(out: dict[str, Array], s: str, state: Any) -> None:
    out[f"macd_{s}"] = state.line
    out[f"macd_signal_{s}"] = state.signal
    out[f"macd_hist_{s}"] = state.hist
    out[f"state_macd_{s}_fast_ema"] = state.fast_ema
    out[f"state_macd_{s}_slow_ema"] = state.slow_ema
