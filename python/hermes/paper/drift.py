"""Drift alerts: does a paper ledger still behave like the backtest that justified it?

For each paper-traded series, every refresh compares the ledger's record since
``paper_since`` (``n`` bars) with the **reference**: the same strategy and settings run by
the backtest engine over the history before ``paper_since`` (``T`` bars). With bar returns
``r_t = equity_t / equity_{t-1} - 1`` of the reference, ``B = 1000`` circular block
resamples of ``n`` bars are drawn (blocks of ``L = ceil(T^(1/3))`` bars,
:func:`hermes.stats.bootstrap.resample_indices`, seeded); on each:

* total return ``R* = prod(1 + r*) - 1``;
* maximum drawdown ``D* = max_t (1 - E*_t / max_{s<=t} E*_s)`` of the path ``E* = cumprod(1 + r*)``
  (starting at 1).

The band is ``[q_2.5(R*), q_97.5(R*)]`` for the live total return ``R = E_n / E_0 - 1`` and
``q_97.5(D*)`` for the live maximum drawdown ``D``. Status: ``outside`` when ``R`` leaves its
band or ``D`` exceeds its bound (the reason names which), ``inside`` otherwise, and
``insufficient`` when the reference has fewer than 2 bars or no return at all, or the live
record has fewer than 2 bars or is longer than the reference. One row per series and last
bar is stored in ``gold_paper_drift``; each new ``outside`` row is sent to the notification
webhook.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hermes.stats.bootstrap import (
    DEFAULT_SAMPLES,
    DEFAULT_SEED,
    block_starts,
    default_block,
    draw_blocks,
)

LEVEL = 0.95


@dataclass(frozen=True)
class Drift:
    live_bars: int
    reference_bars: int
    live_return: float
    band_low: float | None
    band_high: float | None
    live_max_drawdown: float
    drawdown_band: float | None
    status: str
    reason: str


def bar_returns(equity: np.ndarray) -> np.ndarray:
    equity = np.asarray(equity, dtype=float)
    return equity[1:] / equity[:-1] - 1.0


def max_drawdown(paths: np.ndarray) -> np.ndarray:
    """Maximum drawdown of each row of ``paths`` (equity, starting value included)."""
    peak = np.maximum.accumulate(paths, axis=-1)
    return (1.0 - paths / peak).max(axis=-1)


def drift(
    reference_equity: np.ndarray,
    live_equity: np.ndarray,
    *,
    samples: int = DEFAULT_SAMPLES,
    seed: int = DEFAULT_SEED,
) -> Drift:
    """Where the live equity curve falls against the reference's bootstrap band."""
    reference = bar_returns(reference_equity)
    live = np.asarray(live_equity, dtype=float)
    n = len(live) - 1
    live_return = float(live[-1] / live[0] - 1.0) if len(live) else 0.0
    live_dd = float(max_drawdown(live[None, :])[0]) if len(live) else 0.0
    thin = None
    if len(reference) < 2 or not (reference != 0).any():
        thin = f"reference of {len(reference)} bar returns with no return: nothing to resample"
    elif n < 2:
        thin = f"{max(n, 0)} live bar returns: too few to compare"
    elif n > len(reference):
        thin = f"live record ({n} bars) longer than the reference ({len(reference)} bars)"
    if thin:
        return Drift(
            max(n, 0), len(reference), live_return, None, None, live_dd, None, "insufficient", thin
        )
    rng = np.random.default_rng(seed)
    block = default_block(len(reference))
    starts = block_starts(len(reference), block, samples, rng)
    drawn = draw_blocks(reference, block, starts, n)  # the first n bars of each resample
    paths = np.cumprod(np.c_[np.ones(samples), 1.0 + drawn], axis=1)
    totals = paths[:, -1] - 1.0
    low, high = np.quantile(totals, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
    dd_band = float(np.quantile(max_drawdown(paths), (1 + LEVEL) / 2))
    reasons = []
    if not low <= live_return <= high:
        reasons.append(f"total return {live_return:+.2%} outside [{low:+.2%}, {high:+.2%}]")
    if live_dd > dd_band and not math.isclose(live_dd, dd_band):
        reasons.append(f"max drawdown {live_dd:.2%} above {dd_band:.2%}")
    status = "outside" if reasons else "inside"
    reason = "; ".join(reasons) or f"total return {live_return:+.2%} in [{low:+.2%}, {high:+.2%}]"
    return Drift(
        n, len(reference), live_return, float(low), float(high), live_dd, dd_band, status, reason
    )
