"""Ingestion: land exchange archives and CSV files in the lake's landing zone.

* :func:`ingest_paths` imports files already on disk (kline archives, OHLCV CSV files);
* :func:`download_archives` fetches kline archives from the Binance public data site
  (:func:`download_archive` for one archive, as the daily flow does).

Each file is verified, decoded to ``_decoded/<sha256>.parquet`` and recorded in the
``landing.files`` manifest; bad files go to ``_quarantine/`` with a reason.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hermes.ingest.download import (
        DEFAULT_BASE_URL,
        RetryPolicy,
        base_url_from_env,
        download_archive,
        download_archives,
    )
    from hermes.ingest.layout import ArchiveName, CsvName, InvalidName, archives_between
    from hermes.ingest.local_files import collect_paths, ingest_paths
    from hermes.ingest.report import FileResult, IngestReport, Outcome

_HOMES = {
    "download": (
        "DEFAULT_BASE_URL", "RetryPolicy", "base_url_from_env", "download_archive",
        "download_archives",
    ),
    "layout": ("ArchiveName", "CsvName", "InvalidName", "archives_between"),
    "local_files": ("collect_paths", "ingest_paths"),
    "report": ("FileResult", "IngestReport", "Outcome"),
}  # fmt: skip
_HOME = {name: module for module, names in _HOMES.items() for name in names}


def __getattr__(name: str) -> Any:
    """The package's names, imported on first use: a process that needs one part (the live
    path reads the manifest) does not load the decoders' libraries (polars) with it."""
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "DEFAULT_BASE_URL",
    "RetryPolicy",
    "base_url_from_env",
    "download_archive",
    "download_archives",
    "ArchiveName",
    "CsvName",
    "FileResult",
    "IngestReport",
    "InvalidName",
    "Outcome",
    "archives_between",
    "collect_paths",
    "ingest_paths",
]
