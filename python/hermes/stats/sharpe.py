"""How much to trust a Sharpe ratio: probabilistic and deflated Sharpe ratios (pure functions).

Notation: ``r_1..r_T`` are one strategy's bar returns, ``SR = mean(r) / std(r, ddof=1)`` its
Sharpe ratio *per bar* (not annualised: multiply by ``sqrt(P)`` for ``P`` bars a year, as
:mod:`hermes.stats.metrics` does), ``g3 = m3 / m2^1.5`` its skewness and ``g4 = m4 / m2^2``
its kurtosis (3 for a normal law; ``m_k`` the k-th central sample moment, ``1/T``), ``Phi``
the standard normal distribution function and ``gamma`` the Euler-Mascheroni constant.

* Probabilistic Sharpe ratio (Bailey & Lopez de Prado 2012, "The Sharpe ratio efficient
  frontier", eq. 11): the probability that the true Sharpe ratio exceeds ``SR*``::

      PSR(SR*) = Phi( (SR - SR*) * sqrt(T - 1) / sqrt(1 - g3 * SR + (g4 - 1) / 4 * SR^2) )

* Expected maximum Sharpe ratio of ``N`` independent trials whose Sharpe ratios have
  variance ``V`` when no trial has skill (Bailey & Lopez de Prado 2014, "The deflated Sharpe
  ratio", eq. 2, from the false strategy theorem)::

      SR0 = sqrt(V) * ((1 - gamma) * Phi^-1(1 - 1/N) + gamma * Phi^-1(1 - 1/(N e)))

* Deflated Sharpe ratio (same paper, eq. 1): ``DSR = PSR(SR0)``, the probability that the
  chosen trial's Sharpe ratio beats the best one luck alone would give after ``N`` tries.

* Deflated Sharpe ratio of a selection whose trials' Sharpe ratios are unknown (the
  hyperparameter trials of an ML model, scored on log loss, not on returns): ``V`` is the
  variance of a skill-less trial's Sharpe estimate, ``1 / (T - 1)`` (the PSR's denominator at
  ``SR = 0``), i.e. the trials are taken as ``N`` independent draws of pure luck
  (:func:`null_deflated_sharpe_ratio`).

``N`` is the number of combinations tried, counted as independent: correlated trials
(neighbouring parameters) make fewer effective trials, so this ``N`` deflates more, not less.
The published example (N = 100, V = 1/2 a year, T = 1250 days, annual SR 2.5, g3 = -3,
g4 = 10) gives SR0 = 0.1132 per day and DSR = 0.9004; ``python/tests/stats`` checks both.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import norm

EULER_GAMMA = 0.5772156649015329


def sharpe_per_bar(returns: np.ndarray) -> np.ndarray:
    """``mean / std(ddof=1)`` of each column (NaN where the standard deviation is 0)."""
    values = np.asarray(returns, dtype=float)
    std = values.std(axis=0, ddof=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(std > 0, values.mean(axis=0) / std, np.nan)


def moments(returns: np.ndarray) -> tuple[float, float]:
    """(skewness ``g3``, kurtosis ``g4``) of one return series, biased sample moments."""
    values = np.asarray(returns, dtype=float)
    centred = values - values.mean()
    m2 = float(np.mean(centred**2))
    if m2 == 0:
        return math.nan, math.nan
    return float(np.mean(centred**3)) / m2**1.5, float(np.mean(centred**4)) / m2**2


def probabilistic_sharpe_ratio(
    sharpe: float, benchmark: float, observations: int, skewness: float, kurtosis: float
) -> float:
    """``PSR(benchmark)`` for a per-bar Sharpe ratio measured on ``observations`` returns.

    NaN when it means nothing: fewer than 2 observations, a NaN input, or a non-positive
    variance term (possible only for extreme skewness/kurtosis).
    """
    if observations < 2 or any(math.isnan(v) for v in (sharpe, benchmark, skewness, kurtosis)):
        return math.nan
    variance = 1.0 - skewness * sharpe + (kurtosis - 1.0) / 4.0 * sharpe**2
    if variance <= 0:
        return math.nan
    z = (sharpe - benchmark) * math.sqrt(observations - 1) / math.sqrt(variance)
    return float(norm.cdf(z))


def expected_maximum_sharpe(trials: int, variance: float) -> float:
    """``SR0``: the expected best per-bar Sharpe ratio of ``trials`` skill-less trials.

    0 for a single trial (nothing was selected); NaN if ``variance`` is NaN or negative.
    """
    if trials < 1:
        raise ValueError(f"trials must be at least 1, got {trials}")
    if math.isnan(variance) or variance < 0:
        return math.nan
    if trials == 1:
        return 0.0
    quantiles = (1 - EULER_GAMMA) * norm.ppf(1 - 1 / trials) + EULER_GAMMA * norm.ppf(
        1 - 1 / (trials * math.e)
    )
    return float(math.sqrt(variance) * quantiles)


def deflated_sharpe_ratio(
    sharpe: float,
    trial_sharpes: np.ndarray,
    observations: int,
    skewness: float,
    kurtosis: float,
) -> tuple[float, float]:
    """(DSR, SR0) of a chosen per-bar Sharpe ratio among ``trial_sharpes`` (every trial's).

    The variance of the trials' Sharpe ratios is their sample variance (``ddof=1``) over the
    trials with a finite Sharpe ratio; their count is ``N``. NaN when fewer than 2 trials have
    one (with a single trial nothing was selected: use the PSR against 0 instead).
    """
    finite = np.asarray(trial_sharpes, dtype=float)
    finite = finite[np.isfinite(finite)]
    if len(finite) < 2:
        return math.nan, math.nan
    sr0 = expected_maximum_sharpe(len(finite), float(finite.var(ddof=1)))
    return probabilistic_sharpe_ratio(sharpe, sr0, observations, skewness, kurtosis), sr0


def null_deflated_sharpe_ratio(
    sharpe: float, trials: int, observations: int, skewness: float, kurtosis: float
) -> tuple[float, float]:
    """(DSR, SR0) of a per-bar Sharpe ratio chosen among ``trials`` whose own Sharpe ratios
    are unknown: ``V = 1 / (T - 1)``, the variance of a skill-less trial's estimate.

    NaN when fewer than 2 observations; ``trials = 1`` gives the PSR against 0.
    """
    if observations < 2:
        return math.nan, math.nan
    sr0 = expected_maximum_sharpe(trials, 1.0 / (observations - 1))
    return probabilistic_sharpe_ratio(sharpe, sr0, observations, skewness, kurtosis), sr0
