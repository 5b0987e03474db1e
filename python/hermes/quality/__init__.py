"""Data quality gates: Great Expectations suites over the lake, run by one checkpoint.

* :mod:`hermes.quality.frames` reads what the suites check from the lake (SQL, DuckDB);
* :mod:`hermes.quality.suites` defines the expectation suites, one per checked frame;
* :mod:`hermes.quality.checkpoint` runs them, writes GX Data Docs under
  ``<lake>/quality/data_docs/`` and returns a :class:`QualityResult`
  (:mod:`hermes.quality.results`).

The dbt data tests (``models/*/_*__models.yml``, ``macros/tests/``, ``tests/``) guard each
build; these suites look across partitions and time (row counts per partition against the
calendar, freshness of the latest candle, indicator ranges and warm-up nulls).
"""

from hermes.quality.checkpoint import TABLES, run_checkpoint
from hermes.quality.results import ExpectationFailure, QualityError, QualityResult, parse_as_of
from hermes.quality.suites import SUITE_NAMES

__all__ = [
    "SUITE_NAMES",
    "TABLES",
    "ExpectationFailure",
    "QualityError",
    "QualityResult",
    "parse_as_of",
    "run_checkpoint",
]
