"""Ingestion: land exchange archives and CSV files in the lake's landing zone.

* :func:`ingest_paths` imports files already on disk (kline archives, OHLCV CSV files);
* :func:`download_archives` fetches kline archives from the Binance public data site
  (:func:`download_archive` for one archive, as the daily flow does).

Each file is verified, decoded to ``_decoded/<sha256>.parquet`` and recorded in the
``landing.files`` manifest; bad files go to ``_quarantine/`` with a reason.
"""

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
