"""Overfitting statistics of a study, and the ``gold_backtest_overfitting`` rows that hold them.

A *study* is a grid (``grid_id``), a walk-forward (``walk_forward_id``, one row per fold:
the fold's in-sample grid) or a single run (``run_id``: one trial, bootstrap and PSR only).

How the lake gets them (what the grid and walk-forward code calls)::

    from hermes.stats.study import overfitting_rows, study_statistics

    stats = study_statistics(returns, chosen, periods_per_year)   # returns: T x N bar returns
    rows = overfitting_rows("grid", grid_id, symbol, interval, [(None, stats)])
    # ... then, in the transaction that writes the grid rows:
    #     hermes.lake.insert(conn, "gold_backtest_overfitting", rows)

``returns`` holds the bar returns (``E_t / E_{t-1} - 1``, the first from the initial cash, as
:func:`hermes.stats.metrics.bar_returns` computes them) of every combination on the same
bars, column ``j`` being the grid's combination ``j``: ``chosen`` is then the chosen
combination's number, which the grid page marks. For a walk-forward, pass one
``(fold, study_statistics(in_sample_returns, chosen, P))`` per fold, ``in_sample_returns``
being the fold's in-sample grid. Every formula is documented in :mod:`hermes.stats.sharpe`,
:mod:`hermes.stats.cscv` and :mod:`hermes.stats.bootstrap`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from hermes.intervals import interval_seconds
from hermes.stats import metrics
from hermes.stats.bootstrap import (
    DEFAULT_LEVEL,
    DEFAULT_SAMPLES,
    DEFAULT_SEED,
    BootstrapResult,
    bootstrap_intervals,
)
from hermes.stats.cscv import DEFAULT_PARTITIONS, Cscv, probability_of_overfitting
from hermes.stats.sharpe import (
    deflated_sharpe_ratio,
    moments,
    null_deflated_sharpe_ratio,
    probabilistic_sharpe_ratio,
    sharpe_per_bar,
)

StudyKind = Literal["grid", "walk_forward", "run"]
STUDY_KINDS = ("grid", "walk_forward", "run")


@dataclass(frozen=True)
class StudyStatistics:
    """Every overfitting statistic of one chosen trial among ``trials`` (see the modules)."""

    trials: int
    chosen: int
    observations: int
    periods_per_year: float
    sharpe: float
    """Annualised Sharpe ratio of the chosen trial (per-bar ratio * sqrt(P))."""
    skewness: float
    kurtosis: float
    psr: float
    """Probability that the chosen trial's true Sharpe ratio is above 0."""
    expected_max_sharpe: float
    """SR0, annualised: the best Sharpe ratio ``trials`` skill-less trials would show."""
    dsr: float
    cscv: Cscv
    bootstrap: BootstrapResult
    hidden_trials: bool = False
    """``trials`` counts tries whose returns are unknown (:func:`with_hidden_trials`)."""

    @property
    def notes(self) -> list[str]:
        """What is missing, and why (empty when every statistic is there)."""
        out = []
        if math.isnan(self.sharpe):
            out.append("Sharpe ratio undefined: the returns never vary (no trade)")
        if self.hidden_trials:
            out.append(
                f"deflated for {self.trials} tuning trials whose returns are unknown "
                "(their Sharpe variance taken as 1/(T-1)); PBO needs every trial's returns"
            )
        elif self.trials < 2:
            out.append("deflated Sharpe ratio and PBO need at least 2 combinations")
        elif math.isnan(self.dsr) and not math.isnan(self.sharpe):
            out.append("deflated Sharpe ratio undefined: fewer than 2 trials vary")
        if self.cscv.note and self.trials >= 2 and not self.hidden_trials:
            out.append(f"PBO: {self.cscv.note}")
        if self.bootstrap.note:
            out.append(f"bootstrap: {self.bootstrap.note}")
        return out


def study_statistics(
    returns: np.ndarray,
    chosen: int,
    periods_per_year: float,
    *,
    partitions: int = DEFAULT_PARTITIONS,
    samples: int = DEFAULT_SAMPLES,
    level: float = DEFAULT_LEVEL,
    seed: int = DEFAULT_SEED,
) -> StudyStatistics:
    """Statistics of column ``chosen`` of ``returns`` (``T x N`` bar returns, or ``(T,)``).

    ``periods_per_year`` annualises the Sharpe ratios (365 * 86400 / bar seconds).
    """
    matrix = np.asarray(returns, dtype=float)
    if matrix.ndim == 1:
        matrix = matrix[:, None]
    rows, trials = matrix.shape
    if not 0 <= chosen < trials:
        raise ValueError(f"chosen column {chosen} is not one of the {trials} combinations")
    column = matrix[:, chosen]
    per_bar = sharpe_per_bar(matrix)
    sr = float(per_bar[chosen])
    skewness, kurtosis = moments(column)
    psr = probabilistic_sharpe_ratio(sr, 0.0, rows, skewness, kurtosis)
    if trials >= 2:
        dsr, sr0 = deflated_sharpe_ratio(sr, per_bar, rows, skewness, kurtosis)
    else:
        dsr, sr0 = math.nan, math.nan
    annual = math.sqrt(periods_per_year)
    return StudyStatistics(
        trials=trials,
        chosen=chosen,
        observations=rows,
        periods_per_year=periods_per_year,
        sharpe=sr * annual,
        skewness=skewness,
        kurtosis=kurtosis,
        psr=psr,
        expected_max_sharpe=sr0 * annual,
        dsr=dsr,
        cscv=probability_of_overfitting(matrix, partitions),
        bootstrap=bootstrap_intervals(
            column, periods_per_year, samples=samples, level=level, seed=seed
        ),
    )


def equity_statistics(
    equity: np.ndarray, init_cash: float, chosen: int, interval: str
) -> StudyStatistics:
    """:func:`study_statistics` of equity curves of one series: ``(bars,)`` for a run,
    ``(bars, trials)`` for a grid (column ``chosen`` the chosen set), bars of ``interval``."""
    returns = metrics.bar_returns(np.asarray(equity, dtype=float), init_cash)
    return study_statistics(returns, chosen, metrics.SECONDS_PER_YEAR / interval_seconds(interval))


def with_hidden_trials(stats: StudyStatistics, trials: int) -> StudyStatistics:
    """A single run's statistics deflated for ``trials`` tries made before it (an ML model's
    hyperparameter trials, whose returns were never simulated): ``trials`` is recorded, SR0
    and the DSR follow :func:`hermes.stats.sharpe.null_deflated_sharpe_ratio`; no PBO (it needs
    every trial's returns)."""
    if stats.trials != 1:
        raise ValueError("hidden trials deflate a single run, not a study of several")
    if trials <= 1:
        return stats
    annual = math.sqrt(stats.periods_per_year)
    dsr, sr0 = null_deflated_sharpe_ratio(
        stats.sharpe / annual, trials, stats.observations, stats.skewness, stats.kurtosis
    )
    return replace(
        stats, trials=trials, dsr=dsr, expected_max_sharpe=sr0 * annual, hidden_trials=True
    )


def _number(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def statistics_record(
    study_kind: str,
    study_id: str,
    symbol: str,
    interval: str,
    fold: int | None,
    stats: StudyStatistics,
    created_at: datetime,
) -> dict[str, Any]:
    """One ``gold_backtest_overfitting`` row as a dict (NaN stored as NULL)."""
    boot = stats.bootstrap
    return {
        "study_kind": study_kind,
        "study_id": study_id,
        "fold": fold,
        "created_at": created_at,
        "symbol": symbol,
        "interval": interval,
        "trials": stats.trials,
        "chosen": stats.chosen,
        "observations": stats.observations,
        "periods_per_year": stats.periods_per_year,
        "sharpe": _number(stats.sharpe),
        "skewness": _number(stats.skewness),
        "kurtosis": _number(stats.kurtosis),
        "psr": _number(stats.psr),
        "expected_max_sharpe": _number(stats.expected_max_sharpe),
        "dsr": _number(stats.dsr),
        "pbo": _number(stats.cscv.pbo),
        "pbo_partitions": stats.cscv.partitions,
        "pbo_splits": stats.cscv.splits,
        "pbo_median_logit": _number(stats.cscv.median_logit),
        "pbo_loss_probability": _number(stats.cscv.loss_probability),
        "ci_level": boot.level,
        "bootstrap_samples": boot.samples,
        "bootstrap_block_bars": boot.block,
        "bootstrap_seed": boot.seed,
        "sharpe_ci_low": _number(boot.sharpe.low),
        "sharpe_ci_high": _number(boot.sharpe.high),
        "total_return_ci_low": _number(boot.total_return.low),
        "total_return_ci_high": _number(boot.total_return.high),
        "notes": "; ".join(stats.notes) or None,
    }


SCHEMA = pa.schema(
    [
        ("study_kind", pa.string()),
        ("study_id", pa.string()),
        ("fold", pa.int64()),
        ("created_at", pa.timestamp("us")),
        ("symbol", pa.string()),
        ("interval", pa.string()),
        ("trials", pa.int64()),
        ("chosen", pa.int64()),
        ("observations", pa.int64()),
        ("periods_per_year", pa.float64()),
        *(
            (name, pa.float64())
            for name in (
                "sharpe",
                "skewness",
                "kurtosis",
                "psr",
                "expected_max_sharpe",
                "dsr",
                "pbo",
            )
        ),
        ("pbo_partitions", pa.int64()),
        ("pbo_splits", pa.int64()),
        ("pbo_median_logit", pa.float64()),
        ("pbo_loss_probability", pa.float64()),
        ("ci_level", pa.float64()),
        ("bootstrap_samples", pa.int64()),
        ("bootstrap_block_bars", pa.int64()),
        ("bootstrap_seed", pa.int64()),
        ("sharpe_ci_low", pa.float64()),
        ("sharpe_ci_high", pa.float64()),
        ("total_return_ci_low", pa.float64()),
        ("total_return_ci_high", pa.float64()),
        ("notes", pa.string()),
    ]
)


def overfitting_rows(
    study_kind: StudyKind,
    study_id: str,
    symbol: str,
    interval: str,
    folds: Sequence[tuple[int | None, StudyStatistics]],
    created_at: datetime | None = None,
) -> pa.Table:
    """The ``gold_backtest_overfitting`` rows of a study: one per ``(fold, statistics)``.

    ``fold`` is ``None`` for a grid or a run, the fold number for a walk-forward.
    """
    if study_kind not in STUDY_KINDS:
        raise ValueError(f"study kind {study_kind!r} is not one of {', '.join(STUDY_KINDS)}")
    when = created_at or datetime.now(UTC).replace(tzinfo=None)
    records = [
        statistics_record(study_kind, study_id, symbol, interval, fold, stats, when)
        for fold, stats in folds
    ]
    return pa.Table.from_pylist(records, schema=SCHEMA)
