"""Download kline archives from the Binance public data site (or a mirror of it).

The site serves ``data/spot/{monthly,daily}/klines/<SYMBOL>/<INTERVAL>/<file>.zip`` and
``<file>.zip.CHECKSUM``. The base URL comes from ``HERMES_BINANCE_BASE_URL`` (default
https://data.binance.vision), so tests and mirrors can serve the same layout.

Network errors and server errors (5xx, 429) are retried with exponential backoff. HTTP 404
means the archive is not published (yet): a distinct outcome, not an error, since daily
archives appear some hours after the day ends.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

import duckdb
import requests

from hermes.config import Settings
from hermes.ingest.checksum import ChecksumError, parse_checksum
from hermes.ingest.land import land_file
from hermes.ingest.layout import ArchiveName, archives_between
from hermes.ingest.manifest import load_manifest
from hermes.ingest.quarantine import quarantine
from hermes.ingest.report import FileResult, IngestReport, Outcome
from hermes.lake import connect

DEFAULT_BASE_URL = "https://data.binance.vision"
BASE_URL_ENV = "HERMES_BINANCE_BASE_URL"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry a failing request."""

    attempts: int = 4
    backoff_seconds: float = 1.0  # first wait; doubled after each failed attempt
    timeout_seconds: float = 60.0


class NotAvailable(Exception):
    """The server answered 404: the file is not published (yet)."""


class DownloadError(Exception):
    """The file could not be fetched, even after retries."""


def base_url_from_env() -> str:
    url = os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"{BASE_URL_ENV} must be an http(s) URL, got {url!r}")
    return url.rstrip("/")


def fetch(session: requests.Session, url: str, retry: RetryPolicy) -> bytes:
    """GET ``url``; raises :class:`NotAvailable` on 404, :class:`DownloadError` otherwise."""
    wait = retry.backoff_seconds
    problem = ""
    for attempt in range(1, retry.attempts + 1):
        try:
            response = session.get(url, timeout=retry.timeout_seconds)
        except requests.RequestException as exc:
            problem = f"{type(exc).__name__}: {exc}"
        else:
            if response.status_code == 200:
                return response.content
            if response.status_code == 404:
                raise NotAvailable(url)
            problem = f"HTTP {response.status_code}"
            if response.status_code not in RETRY_STATUSES:
                break
        if attempt < retry.attempts:
            time.sleep(wait)
            wait *= 2
    raise DownloadError(f"{url}: {problem} (after {attempt} attempt(s))")


def download_archive(
    archive: ArchiveName,
    settings: Settings,
    *,
    base_url: str | None = None,
    retry: RetryPolicy | None = None,
    conn: duckdb.DuckDBPyConnection | None = None,
    manifest: dict[str, str] | None = None,
    session: requests.Session | None = None,
) -> FileResult:
    """Fetch one archive and its ``.CHECKSUM``, verify and land it.

    The ``.CHECKSUM`` is fetched first: when it names the SHA-256 already in the manifest,
    the archive is not downloaded again (outcome ``unchanged``).
    """
    base_url = (base_url or base_url_from_env()).rstrip("/")
    retry = retry or RetryPolicy()
    own_conn = conn is None
    conn = conn or connect(settings)
    session = session or requests.Session()
    try:
        manifest = load_manifest(conn) if manifest is None else manifest
        url = archive.url(base_url)
        source_file = archive.source_file
        try:
            checksum = fetch(session, f"{url}.CHECKSUM", retry)
            try:
                expected = parse_checksum(checksum, archive.filename)
            except ChecksumError as exc:
                reason = f"{source_file}: {exc}"
                kept = quarantine(conn, settings, f"{source_file}.CHECKSUM", reason, data=checksum)
                return FileResult(source_file, Outcome.QUARANTINED, reason=kept.reason)
            if manifest.get(source_file) == expected:
                return FileResult(source_file, Outcome.UNCHANGED, sha256=expected)
            data = fetch(session, url, retry)
        except NotAvailable as exc:
            return FileResult(source_file, Outcome.NOT_AVAILABLE, reason=f"not published: {exc}")
        except DownloadError as exc:
            return FileResult(source_file, Outcome.FAILED, reason=str(exc))
        try:
            return land_file(conn, settings, archive, data, manifest, checksum=checksum)
        except OSError as exc:
            return FileResult(
                source_file, Outcome.FAILED, reason=f"{source_file}: cannot store: {exc}"
            )
    finally:
        if own_conn:
            conn.close()


def download_archives(
    symbols: Sequence[str],
    intervals: Sequence[str],
    start: date,
    end: date,
    period: str,
    settings: Settings,
    *,
    base_url: str | None = None,
    retry: RetryPolicy | None = None,
    on_result: Callable[[FileResult], None] | None = None,
) -> IngestReport:
    """Download and land every ``period`` archive of ``symbols`` x ``intervals`` in range.

    ``start``/``end`` are inclusive days; monthly archives cover every month they touch.
    Symbols and intervals are validated first (:class:`~hermes.ingest.layout.InvalidName`).
    """
    archives = archives_between(list(symbols), list(intervals), start, end, period)
    report = IngestReport()
    with connect(settings) as conn:
        manifest = load_manifest(conn)
        with requests.Session() as session:
            for archive in archives:
                result = report.add(
                    download_archive(
                        archive,
                        settings,
                        base_url=base_url,
                        retry=retry,
                        conn=conn,
                        manifest=manifest,
                        session=session,
                    )
                )
                if on_result is not None:
                    on_result(result)
    return report
