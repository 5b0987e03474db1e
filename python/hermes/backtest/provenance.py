"""What a run records about the code that produced it: git commit and package versions."""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from importlib import metadata

import numpy as np

from hermes.config import PROJECT_ROOT

PACKAGES = ("hermes", "vectorbt", "vectorbt-rust", "numba", "numpy", "pandas", "duckdb", "pyarrow")


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
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "missing"
    return versions


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
