"""Set rejected files aside in ``<landing>/_quarantine/`` with a reason file, and record them.

Every rejected version of a file is kept: the copy goes to
``_quarantine/<source folder>/<version>/<file name>``, ``<version>`` being the first 16 hex
digits of the file's SHA-256 (or the UTC time when no content is known), so a second bad
file with the same name never overwrites the first one's copy. Reasons are one line of at
most :data:`MAX_REASON_CHARS` characters, in the ``.reason.txt`` beside the copy, the
``landing.quarantine`` table and the command's output alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from hermes import storage
from hermes.config import Settings
from hermes.ingest.checksum import sha256_hex
from hermes.ingest.manifest import record_quarantine, utc_now

QUARANTINE_FOLDER = "_quarantine"
MAX_REASON_CHARS = 300
"""Longest reason stored or printed; a longer one is cut, ending in ``... [cut]``."""
_CUT = " ... [cut]"


def clip_reason(reason: str) -> str:
    """``reason`` as one line of at most :data:`MAX_REASON_CHARS` characters."""
    line = " ".join(reason.split())
    if len(line) <= MAX_REASON_CHARS:
        return line
    return line[: MAX_REASON_CHARS - len(_CUT)] + _CUT


def quarantine_path(settings: Settings, source_file: str, version: str) -> str:
    """Where the rejected ``version`` of ``source_file`` is kept."""
    folder, _, name = source_file.rpartition("/")
    parts = [settings.landing_root, QUARANTINE_FOLDER, folder, version, name]
    return "/".join(part for part in parts if part)


@dataclass(frozen=True)
class Quarantined:
    path: str  # the kept copy
    reason: str  # the reason as stored (one line, clipped)


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
) -> Quarantined:
    """Put a rejected file (and its ``.CHECKSUM``) in quarantine, and record why.

    ``origin`` is set when the file already sits in the landing zone: it is then moved, so
    the landing zone only keeps good files. Files from elsewhere are copied, never removed.
    """
    if sha256 is None and data is not None:
        sha256 = sha256_hex(data)
    version = sha256[:16] if sha256 else utc_now().strftime("%Y%m%dT%H%M%S%fZ")
    target = quarantine_path(settings, source_file, version)
    reason = clip_reason(reason)
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
    return Quarantined(target, reason)
