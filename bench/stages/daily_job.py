"""Stage: the whole daily job as users wait for it, ``hermes run`` end to end.

Each measurement runs the ``hermes`` command in a child process and times its wall clock:
Python start-up, imports, the Prefect API (the long-lived local server, or Prefect's
temporary one), ingest, ``dbt build``, the quality checkpoint, publication, backtests and
reports. ``hermes_peak_rss_mb`` is the peak memory of the ``hermes`` process itself (the
server is a process of its own, measured once by :func:`server_start`). Scenarios:

* ``full``: a new lake, everything built from the bundled CSV files;
* ``no_op``: the same command again, nothing new;
* ``one_candle``: one new 4h candle for BTCUSDT lands (``hermes ingest`` of a CSV holding
  it), then ``hermes run`` rebuilds, audits and backtests that partition.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import sys
import threading
import time
from datetime import timedelta
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench.lakes import snapshot_tree, use_lake

HERMES = [sys.executable, "-m", "hermes.cli"]
MAXRSS = "BENCH_MAXRSS_KB"


def _env(lake: Path, prefect_home: Path, mode: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    return env | {"HERMES_LAKE_ROOT": str(lake), "HERMES_TARGET": "local", "COLUMNS": "300"} | {
        "PREFECT_HOME": str(prefect_home), "HERMES_PREFECT_SERVER": mode
    }  # fmt: skip


def _hermes(args: list[str], env: dict[str, str]) -> tuple[float, str, float]:
    """Run ``hermes args``: (wall seconds, stdout, peak resident MB of that process).

    GNU time reports the command's own peak memory (``getrusage`` of this process's
    children would carry this process's high-water mark over the fork).
    """
    timer = [shutil.which("time") or "/usr/bin/time", "-f", f"{MAXRSS} %M"]
    started = time.perf_counter()
    proc = subprocess.run(
        [*timer, *HERMES, *args], env=env, capture_output=True, text=True, timeout=1800,
        check=False,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        tail = " ".join((proc.stdout + proc.stderr).splitlines()[-4:])
        raise RuntimeError(f"hermes {' '.join(args)} exited {proc.returncode}: {tail}")
    peak = [line for line in proc.stderr.splitlines() if line.startswith(MAXRSS)]
    return seconds, proc.stdout, float(peak[-1].split()[1]) / 1024 if peak else 0.0


def _steps(stdout: str) -> dict[str, float]:
    """The run summary's per-step seconds (``seconds: ingest 1.3, dbt build 21.9, ...``)."""
    match = re.search(r"^\s*seconds: (.+)$", stdout, re.MULTILINE)
    parts = [part.rpartition(" ") for part in match.group(1).split(", ")] if match else []
    return {name: float(value) for name, _, value in parts}


def server_start(prefect_home: str) -> dict[str, Any]:
    """Start the long-lived local Prefect server once (a new home); its start time and RSS."""
    from hermes.flows.server import start_server

    shutil.rmtree(prefect_home, ignore_errors=True)
    started = time.perf_counter()
    info = start_server(Path(prefect_home))
    seconds = time.perf_counter() - started
    rss_kb = int(Path(f"/proc/{info.pid}/status").read_text().split("VmRSS:")[1].split()[0])
    return {"seconds": seconds, "server_rss_mb": rss_kb / 1024, "url": info.url}


def server_stop(prefect_home: str) -> dict[str, Any]:
    from hermes.flows.server import stop_server

    started = time.perf_counter()
    stop_server(Path(prefect_home))
    return {"seconds": time.perf_counter() - started}


def run(
    work: str,
    prefect_home: str,
    mode: str,
    scenario: str,
    restore_from: str | None = None,
    save_to: str | None = None,
) -> dict[str, Any]:
    """Time one ``hermes run`` scenario on the lake ``work`` (restored first if given)."""
    lake = Path(work)
    if scenario == "full":
        shutil.rmtree(lake, ignore_errors=True)
    elif restore_from:
        snapshot_tree(Path(restore_from), lake)
    env = _env(lake, Path(prefect_home), mode)
    out: dict[str, Any] = {"scenario": scenario, "server": mode, "ingest_seconds": 0.0}
    if scenario == "one_candle":
        out["ingest_seconds"], _, _ = _hermes(["ingest", str(_one_new_candle(lake))], env)
    seconds, stdout, peak = _hermes(["run"], env)
    status = next((line for line in stdout.splitlines() if "hermes refresh" in line), "")
    out |= {"run_seconds": seconds, "seconds": seconds + out["ingest_seconds"]}
    out |= {"steps": _steps(stdout), "status_line": status, "hermes_peak_rss_mb": peak}
    if save_to:
        snapshot_tree(lake, Path(save_to))
    return out


def _one_new_candle(lake: Path) -> Path:
    """A generic CSV holding the candle after the lake's last BTCUSDT 4h candle."""
    from hermes.lake import connect

    with connect(use_lake(lake)) as conn:
        last, price = conn.execute(
            "select open_time, close from lake.silver_klines "
            "where symbol = 'BTCUSDT' and interval = '4h' order by open_time desc limit 1"
        ).fetchone() or (None, None)
    csv = lake.parent / "new" / "BTCUSDT_4h.csv"
    csv.parent.mkdir(parents=True, exist_ok=True)
    moment, high, low, close = (
        last + timedelta(hours=4),
        price * 1.002,
        price * 0.997,
        price * 1.001,
    )
    csv.write_text(
        f"timestamp,open,high,low,close,volume\n{moment:%Y-%m-%d %H:%M:%S},{price},{high},{low},"
        f"{close},123.456\n"
    )
    return csv


def quality(work: str, restore_from: str, partitions: list[list[str]] | None) -> dict[str, Any]:
    """The quality checkpoint on a restored lake: seconds and memory above the imports."""
    from hermes.quality import run_checkpoint

    settings = use_lake(Path(work), restore_from)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    result = run_checkpoint(
        settings, partitions=None if partitions is None else [(s, i) for s, i in partitions],
        docs_dir=Path(work).parent / "quality-docs",
    )  # fmt: skip
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "seconds": seconds,
        "rows": sum(result.statistics.get(t, 0) for t in ("silver_klines", "gold_features")),
        "expectations": result.evaluated, "failed": len(result.errors),
        "rss_after_imports_mb": before, "quality_rss_mb": peak - before,
    }  # fmt: skip


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (http.server's)
        return


def backfill_missing(work: str, prefect_home: str) -> dict[str, Any]:
    """``hermes backfill`` of a year no archive exists for (2 symbols x 2 intervals), from a
    local site that has none of them."""
    shutil.rmtree(work, ignore_errors=True)
    site = Path(work).parent / "empty-site"
    site.mkdir(parents=True, exist_ok=True)
    handler = partial(_Quiet, directory=str(site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        seconds, stdout, peak = _hermes(
            [
                "backfill", "--start", "2022-01-01", "--end", "2022-12-31", "-s", "BTCUSDT",
                "-s", "ETHUSDT", "-i", "4h", "-i", "1d",
                "--base-url", f"http://127.0.0.1:{server.server_address[1]}",
            ],
            _env(Path(work), Path(prefect_home), "local"),
        )  # fmt: skip
    finally:
        server.shutdown()
        server.server_close()
    status = stdout.splitlines()[0] if stdout else ""
    return {"seconds": seconds, "status_line": status, "hermes_peak_rss_mb": peak}
