"""Set rejected files aside in ``<landing>/_quarantine/`` with a reason file, and record them."""

from __future__ import annotations

import duckdb

from hermes import storage
from hermes.config import Settings
from hermes.ingest.manifest import record_quarantine, utc_now

QUARANTINE_FOLDER = "_quarantine"


def quarantine_path(settings: Settings, source_file: str) -> str:
    return f"{settings.landing_root}/{QUARANTINE_FOLDER}/{source_file}"


def quarantine(
    conn: duckdb.DuckDBPyConnection,
    settings: Settings,
    source_file: str,
    reason: str,
    *,
    data: bytes | None,
    sha256: str | None = None,
    checksum: bytes | None = None,
    origin: str | None = None,
) -> str:
    """Put a rejected file (and its ``.CHECKSUM``) in quarantine; returns where it went.

    ``origin`` is set when the file already sits in the landing zone: it is then moved, so
    the landing zone only keeps good files. Files from elsewhere are copied, never removed.
    """
    target = quarantine_path(settings, source_file)
    if origin is not None and storage.exists(settings, origin):
        storage.move(settings, origin, target)
        if storage.exists(settings, f"{origin}.CHECKSUM"):
            storage.move(settings, f"{origin}.CHECKSUM", f"{target}.CHECKSUM")
    else:
        if data is not None:
            storage.write_bytes_atomic(settings, target, data)
        if checksum is not None:
            storage.write_bytes_atomic(settings, f"{target}.CHECKSUM", checksum)
    note = (
        f"file: {source_file}\n"
        f"sha256: {sha256 or 'unknown'}\n"
        f"quarantined_at: {utc_now().isoformat()}Z\n"
        f"reason: {reason}\n"
    )
    storage.write_bytes_atomic(settings, f"{target}.reason.txt", note.encode("utf-8"))
    record_quarantine(conn, source_file, sha256, reason)
    return target
