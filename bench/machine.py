"""The machine and package versions a benchmark ran with."""

from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil

from hermes.backtest.provenance import git_commit

PACKAGES = "hermes duckdb dbt-core dbt-duckdb polars pyarrow pandas numpy numba vectorbt ta-lib"
PACKAGES += " backtesting prefect"


def cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    return names[0] if names else platform.processor() or platform.machine()


def describe() -> dict[str, Any]:
    """Cores, memory, CPU model, OS, Python and package versions."""
    versions: dict[str, str | None] = {}
    for name in PACKAGES.split():
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "cpu_model": cpu_model(),
        "logical_cores": os.cpu_count(),
        "physical_cores": psutil.cpu_count(logical=False),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "git_commit": (git_commit()[0] or "")[:7] or None,
        "packages": versions,
    }


def load_average() -> list[float]:
    """1, 5 and 15-minute load averages: other work on the machine skews timings."""
    return [round(x, 2) for x in os.getloadavg()]
