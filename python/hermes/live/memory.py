"""The live process's resident memory kept flat: what the C heap frees goes back to the
system (a long-running process would otherwise keep its peak for good)."""

from __future__ import annotations

import ctypes


def release_free_memory() -> None:
    """Return the C heap's free pages to the system (glibc's ``malloc_trim``): what DuckDB and
    the compilers freed would otherwise stay in the process's resident memory. A no-op where
    the C library has no such call."""
    trim = getattr(ctypes.CDLL(None), "malloc_trim", None)  # the process's own C library
    if trim is not None:
        trim(0)
