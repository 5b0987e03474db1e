"""SHA-256 of raw files and Binance ``.CHECKSUM`` files (``<sha256>  <file name>``)."""

from __future__ import annotations

import hashlib
import re

_CHECKSUM_RE = re.compile(r"([0-9a-fA-F]{64})(?:\s+\*?(\S+))?\s*")


class ChecksumError(ValueError):
    """A ``.CHECKSUM`` file that cannot be read, or that does not match its archive."""


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def parse_checksum(content: bytes, filename: str) -> str:
    """The SHA-256 that a ``.CHECKSUM`` file gives for ``filename`` (lower-case hex)."""
    try:
        text = content.decode("ascii").strip()
    except UnicodeDecodeError:
        raise ChecksumError(f"{filename}.CHECKSUM is not ASCII text") from None
    match = _CHECKSUM_RE.fullmatch(text)
    if not match:
        raise ChecksumError(f"{filename}.CHECKSUM is malformed: expected '<sha256>  {filename}'")
    named = match[2]
    if named is not None and named != filename:
        raise ChecksumError(f"{filename}.CHECKSUM names another file: {named!r}")
    return match[1].lower()


def verify_checksum(data: bytes, checksum_content: bytes, filename: str) -> str:
    """Check ``data`` against its ``.CHECKSUM``; returns the SHA-256, raises on mismatch."""
    expected = parse_checksum(checksum_content, filename)
    actual = sha256_hex(data)
    if actual != expected:
        raise ChecksumError(
            f"checksum mismatch for {filename}: .CHECKSUM says {expected}, file has {actual}"
        )
    return actual
