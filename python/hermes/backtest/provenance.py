"""What a run records about the code that produced it: git commit and package versions.

Both are read once per process, on first use (a run records the code its process imported;
reading them again for each of a day's runs cost two ``git`` processes and a scan of the
installed packages per run).
"""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from functools import cache
from importlib import metadata

import numpy as np

from hermes.config import PROJECT_ROOT

PACKAGES = ("hermes", "vectorbt", "vectorbt-rust", "numba", "numpy", "pandas", "duckdb", "pyarrow")


@cache
def git_commit() -> tuple[str | None, bool | None]:
    """(HEAD commit, whether tracked files differ from it), or (None, None) outside git."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None, None
    return head or None, bool(status.strip())


def package_versions() -> dict[str, str]:
    return dict(_package_versions())


@cache
def _package_versions() -> tuple[tuple[str, str], ...]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "missing"
    return tuple(versions.items())


def package_versions_json() -> str:
    return json.dumps(package_versions(), sort_keys=True)


def fingerprint(arrays: list[np.ndarray]) -> str:
    """SHA-256 of the arrays' bytes (C order, float64/int64), in the order given."""
    digest = hashlib.sha256()
    for array in arrays:
        values = np.ascontiguousarray(array)
        if values.dtype.kind == "M":
            values = values.astype("datetime64[us]").view(np.int64)
        digest.update(str(values.dtype).encode())
        digest.update(values.tobytes())
    return digest.hexdigest()
