"""One measurement in a fresh subprocess (``python -m bench.measure PAYLOAD``), so its peak
memory is its own and a cold start is cold; repeated runs summarised."""

from __future__ import annotations

import importlib
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RESULT, ERROR = "BENCH_RESULT ", "BENCH_FAILED "
BENCH_PARENT = Path(__file__).resolve().parents[1]  # children import this copy of bench/


def stopwatch() -> Callable[[], float]:
    """A function giving the seconds since this call."""
    started = time.perf_counter()
    return lambda: time.perf_counter() - started


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class StageError(RuntimeError):
    """A stage's subprocess failed; the message carries the exception it raised."""


def status(status: str, reason: str) -> dict[str, Any]:
    """A figure that was not measured: ``not available`` or ``error``, and why."""
    return {"status": status, "reason": reason}


@dataclass
class Runner:
    """Launches stage subprocesses and keeps their output in ``log_dir``."""

    log_dir: Path
    timeout: float = 1800

    def once(self, target: str, /, **kwargs: Any) -> dict[str, Any]:
        """Run ``target`` (``"bench.stages.x:function"``) once in a new process."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_dir / f"{target.split(':')[-1]}-{time.monotonic_ns()}.log"
        payload = json.dumps({"target": target, "kwargs": kwargs})
        with open(log, "w") as out:  # own session: a timeout stops the stage's whole tree
            proc = subprocess.Popen(
                [sys.executable, "-m", "bench.measure", payload], cwd=BENCH_PARENT, stdout=-1,
                stderr=out, text=True, start_new_session=True,
                env=os.environ | {"PYTHONDONTWRITEBYTECODE": "1"},
            )  # fmt: skip
            try:
                stdout = proc.communicate(timeout=self.timeout)[0]
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()
                stopped = f"{target}: stopped after {self.timeout:.0f} s (log {log})"
                raise StageError(stopped) from None
            out.write(stdout)
        found = {x[: len(RESULT)]: x[len(RESULT) :] for x in stdout.splitlines()}
        if proc.returncode != 0 or RESULT not in found:
            raise StageError(f"{found.get(ERROR, 'no result')} (exit {proc.returncode}; log {log})")
        return dict(json.loads(found[RESULT]))

    def repeat(self, target: str, times: int, /, **kwargs: Any) -> dict[str, Any]:
        """``times`` runs summarised (:func:`summarise`)."""
        return summarise([self.once(target, **kwargs) for _ in range(times)])

    def figure(self, target: str, times: int, /, **kwargs: Any) -> dict[str, Any]:
        """:meth:`repeat`, or the failure as the figure."""
        try:
            return self.repeat(target, times, **kwargs)
        except StageError as exc:
            return status("error", str(exc))


def spread(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "n": len(values)}  # fmt: skip


def median_of(value: Any) -> float | None:
    """A figure that is one value, or a spread of repeated values (its median)."""
    if isinstance(value, dict):
        return float(value["median"])
    return None if value is None else float(value)


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Repeated runs as one figure: rows/s and the numbers that vary as spreads, the rest as is."""
    seconds = [float(r["seconds"]) for r in runs]
    out: dict[str, Any] = {"status": "ok", "seconds": spread(seconds), "seconds_list": seconds}
    if rows := runs[0].get("rows"):
        out["rows"], out["rows_per_second"] = int(rows), spread([rows / s for s in seconds])
    for key, value in runs[-1].items():
        values = [r.get(key) for r in runs]
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
        if key not in out and (key == "peak_rss_mb" or (numeric and len(set(values)) > 1)):
            out[key] = spread([float(v) for v in values if v is not None])
        elif key not in out:
            out[key] = value
    return out


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


if __name__ == "__main__":  # the child: call the payload's target in this fresh process
    lifetime, payload = stopwatch(), json.loads(sys.argv[1])
    module_name, function_name = payload["target"].split(":")
    try:
        function = getattr(importlib.import_module(module_name), function_name)
        result = dict(function(**payload.get("kwargs", {})))
    except Exception as exc:
        print(f"{ERROR}{type(exc).__name__}: {exc}".replace("\n", " "), flush=True)
        raise
    result |= {"peak_rss_mb": peak_mb(), "process_seconds": lifetime()}
    print(RESULT + json.dumps(result), flush=True)
