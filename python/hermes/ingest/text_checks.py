"""Byte-level checks run on a source file before anything parses it: encoding and line length.

They keep the work on a hostile file bounded: a file that is not UTF-8 text is named for what
it is (a UTF-16 file is not "truncated"), and a line longer than :data:`MAX_LINE_BYTES` is
refused after one vectorised pass over the bytes, before the lines are split or parsed.
"""

from __future__ import annotations

import codecs
import zlib

import numpy as np

from hermes.ingest.errors import DecodeError

MAX_TEXT_BYTES = 4 * 1024**3
"""Largest text a compressed file may expand to (a zip entry's limit too)."""
MAX_LINE_BYTES = 1024
"""Longest line accepted, in bytes (line break excluded). A kline row is about 150 bytes."""

_BOMS: tuple[tuple[bytes, str], ...] = (
    # UTF-32 first: its little-endian BOM starts with UTF-16's
    (codecs.BOM_UTF32_LE, "UTF-32 (little-endian, with BOM)"),
    (codecs.BOM_UTF32_BE, "UTF-32 (big-endian, with BOM)"),
    (codecs.BOM_UTF16_LE, "UTF-16 (little-endian, with BOM)"),
    (codecs.BOM_UTF16_BE, "UTF-16 (big-endian, with BOM)"),
)
_SAMPLE_BYTES = 4096
"""Bytes looked at to recognise UTF-16/32 text without a BOM by its NUL pattern."""


def check_encoding(raw: bytes) -> None:
    """Refuse text that is not UTF-8, naming its encoding when a BOM or NUL pattern shows it."""
    for bom, name in _BOMS:
        if raw.startswith(bom):
            raise DecodeError(f"encoding: the file is {name} text; expected UTF-8")
    sample = raw[:_SAMPLE_BYTES]
    if b"\x00" not in sample:
        return
    pattern = _nul_pattern(sample)
    if pattern is not None:
        raise DecodeError(f"encoding: the file is {pattern} text (no BOM); expected UTF-8")
    raise DecodeError("garbled CSV: contains NUL bytes")


def _nul_pattern(sample: bytes) -> str | None:
    """UTF-16/32 without a BOM: ASCII text leaves NUL bytes at fixed positions of each unit."""
    even = len(sample) - len(sample) % 4
    if even < 4:
        return None
    units = np.frombuffer(sample[:even], dtype=np.uint8).reshape(-1, 4)
    nul = (units == 0).mean(axis=0)  # share of NUL bytes at each position of a 4-byte unit
    if nul[1] > 0.9 and nul[2] > 0.9 and nul[3] > 0.9 and nul[0] < 0.1:
        return "UTF-32 (little-endian)"
    if nul[0] > 0.9 and nul[1] > 0.9 and nul[2] > 0.9 and nul[3] < 0.1:
        return "UTF-32 (big-endian)"
    if nul[1] > 0.9 and nul[3] > 0.9 and max(nul[0], nul[2]) < 0.1:
        return "UTF-16 (little-endian)"
    if nul[0] > 0.9 and nul[2] > 0.9 and max(nul[1], nul[3]) < 0.1:
        return "UTF-16 (big-endian)"
    return None


def check_line_lengths(raw: bytes, limit: int = MAX_LINE_BYTES) -> None:
    """Refuse a file holding a line longer than ``limit`` bytes, naming the first such line.

    One pass over the bytes (positions of the line breaks, then their differences): the cost
    is bounded by the file's size whatever its lines hold.
    """
    if len(raw) <= limit:
        return
    data = np.frombuffer(raw, dtype=np.uint8)
    breaks = np.flatnonzero(data == 0x0A)
    starts = np.concatenate(([0], breaks + 1))
    ends = np.concatenate((breaks, [len(raw)]))
    lengths = ends - starts
    if lengths.size and lengths.max() > limit:
        index = int(np.argmax(lengths > limit))
        raise DecodeError(
            f"line {index + 1}: line too long ({int(lengths[index])} bytes; the limit is "
            f"{limit} bytes per line)"
        )


def gunzip(data: bytes, limit: int = MAX_TEXT_BYTES) -> bytes:
    """The content of a gzip file (every member), refused once it passes ``limit`` bytes.

    A small file expanding to gigabytes (a "gzip bomb") stops at the limit instead of
    filling memory.
    """
    chunks: list[bytes] = []
    total, rest = 0, data
    try:
        while rest:
            member = zlib.decompressobj(wbits=31)
            chunk = member.decompress(rest, limit - total + 1)
            total += len(chunk)
            chunks.append(chunk)
            if total > limit or member.unconsumed_tail:
                raise DecodeError(f"the gzip file expands to more than {limit} bytes")
            if not member.eof:
                raise DecodeError("corrupt gzip file: the file ends inside compressed data")
            rest = member.unused_data.lstrip(b"\x00")  # gzip pads members with NULs
    except zlib.error as exc:
        raise DecodeError(f"corrupt gzip file: {exc}") from None
    return b"".join(chunks)
