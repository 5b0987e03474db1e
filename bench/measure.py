"""Run one measurement in a fresh subprocess and summarise repeated runs.

Each repetition runs ``python -m bench.child`` so that peak memory (``ru_maxrss``) belongs
to that stage alone and a cold start really is cold. The stage function returns its own
timing of the measured region (setup such as restoring a lake is excluded); the child adds
the process's peak resident memory.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hermes.config import PROJECT_ROOT

RESULT_PREFIX = "BENCH_RESULT "


class StageError(RuntimeError):
    """A stage's subprocess failed; the message carries the end of its output."""


@dataclass
class Runner:
    """Launches stage subprocesses and keeps their output in ``log_dir``."""

    log_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    timeout: float = 1800

    def once(self, target: str, /, **kwargs: Any) -> dict[str, Any]:
        """Run ``target`` (``"bench.stages.x:function"``) once in a new process."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        name = target.split(":")[-1]
        log = (
            self.log_dir
            / f"{name}-{time.strftime('%H%M%S')}-{os.getpid()}-{time.monotonic_ns()}.log"
        )
        payload = json.dumps({"target": target, "kwargs": kwargs})
        env = {**os.environ, **self.env, "PYTHONDONTWRITEBYTECODE": "1"}
        with open(log, "w") as out:
            proc = subprocess.run(
                [sys.executable, "-m", "bench.child", payload],
                cwd=PROJECT_ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=out,
                text=True,
                timeout=self.timeout,
                check=False,
            )
            out.write(proc.stdout)
        result = None
        for line in proc.stdout.splitlines():
            if line.startswith(RESULT_PREFIX):
                result = json.loads(line[len(RESULT_PREFIX) :])
        if proc.returncode != 0 or result is None:
            raise StageError(
                f"{_error_summary(log.read_text())} (exit {proc.returncode}; log {log})"
            )
        return result

    def repeat(self, target: str, times: int, /, **kwargs: Any) -> list[dict[str, Any]]:
        return [self.once(target, **kwargs) for _ in range(times)]


def _error_summary(text: str) -> str:
    """The exception a failed child raised (the lines after its traceback's last frame)."""
    lines = text.splitlines()
    starts = [
        i for i, line in enumerate(lines) if line.startswith("Traceback (most recent call last)")
    ]
    if not starts:
        return " ".join(line.strip() for line in lines[-3:])
    after = lines[starts[-1] + 1 :]
    body = [i for i, line in enumerate(after) if line and not line.startswith(" ")]
    message = after[body[0] : body[0] + 4] if body else after[-3:]
    return " ".join(line.strip() for line in message)


def spread(values: list[float]) -> dict[str, float]:
    """Median, min and max of repeated measurements."""
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "n": len(values),
    }


def summarise(runs: list[dict[str, Any]], rows: int | None = None) -> dict[str, Any]:
    """Turn repeated runs (each with ``seconds`` and ``peak_rss_mb``) into one figure.

    ``rows`` (or each run's ``rows``) gives throughput: rows/s is computed per run, so its
    median, min and max are those of the runs themselves.
    """
    seconds = [float(r["seconds"]) for r in runs]
    out: dict[str, Any] = {"status": "ok", "seconds": spread(seconds), "seconds_list": seconds}
    n_rows = rows if rows is not None else runs[0].get("rows")
    if n_rows:
        out["rows"] = int(n_rows)
        out["rows_per_second"] = spread([n_rows / s for s in seconds])
    if all("peak_rss_mb" in r for r in runs):
        out["peak_rss_mb"] = spread([float(r["peak_rss_mb"]) for r in runs])
    extras = {k: v for k, v in runs[-1].items() if k not in ("seconds", "rows", "peak_rss_mb")}
    for key in list(extras):
        values = [r.get(key) for r in runs]
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
        if numeric and len(set(values)) > 1:
            extras[key] = spread([float(v) for v in values if v is not None])
    out.update(extras)
    return out


def not_available(reason: str) -> dict[str, Any]:
    return {"status": "not available", "reason": reason}


def failed(error: Exception) -> dict[str, Any]:
    return {"status": "error", "reason": str(error)}
