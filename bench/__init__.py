"""Hermes benchmark: ``python -m bench`` (or ``make bench``) measures every stage at scale.

Large data sets are synthetic (resampled from the bundled real candles, see
:mod:`bench.synthetic`); results go to ``bench/results.json`` and ``bench/RESULTS.md``.
"""
