"""Stage: the daily job as users wait for it, the ``hermes`` command timed end to end in a
child process (start-up, imports, the Prefect API, every step of the flow). Scenarios of
:func:`run`: ``full`` (a new lake), ``no_op`` (again, nothing new), ``one_candle`` (one new
BTCUSDT 4h candle ingested, then ``hermes run``)."""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psutil

from bench.lakes import snapshot_tree, use_lake

MAXRSS = "BENCH_MAXRSS_KB"


def env(lake: Path | str, prefect_home: Path | str, mode: str = "local") -> dict[str, str]:
    """The environment of a ``hermes`` command on ``lake`` with its Prefect server ``mode``."""
    return {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"} | {
        "HERMES_LAKE_ROOT": str(lake), "HERMES_TARGET": "local", "COLUMNS": "300",
        "PREFECT_HOME": str(prefect_home), "HERMES_PREFECT_SERVER": mode,
    }  # fmt: skip


def hermes(args: list[str], environment: dict[str, str]) -> tuple[float, str, float]:
    """Run ``hermes args``: (wall seconds, stdout, peak resident MB of that process, from GNU
    time: this process's children's ``getrusage`` would carry its own high-water mark)."""
    timer = [shutil.which("time") or "/usr/bin/time", "-f", f"{MAXRSS} %M"]
    started = time.perf_counter()
    proc = subprocess.run([*timer, sys.executable, "-m", "hermes.cli", *args], env=environment,
                          capture_output=True, text=True, timeout=1800, check=False)  # fmt: skip
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        tail = " ".join((proc.stdout + proc.stderr).splitlines()[-4:])
        raise RuntimeError(f"hermes {' '.join(args)} exited {proc.returncode}: {tail}")
    peak = [line for line in proc.stderr.splitlines() if line.startswith(MAXRSS)]
    return seconds, proc.stdout, float(peak[-1].split()[1]) / 1024 if peak else 0.0


def steps(stdout: str) -> dict[str, float]:
    """The run summary's per-step seconds (``seconds: ingest 1.3, dbt build 21.9, ...``)."""
    match = re.search(r"^\s*seconds: (.+)$", stdout, re.MULTILINE)
    parts = [part.rpartition(" ") for part in match.group(1).split(", ")] if match else []
    return {name: float(value) for name, _, value in parts}


def server_start(prefect_home: str) -> dict[str, Any]:
    """Start the long-lived local Prefect server once (a new home): start time and memory."""
    from hermes.flows.server import start_server

    shutil.rmtree(prefect_home, ignore_errors=True)
    started = time.perf_counter()
    info = start_server(Path(prefect_home))
    seconds, rss = time.perf_counter() - started, psutil.Process(info.pid).memory_info().rss
    return {"seconds": seconds, "server_rss_mb": rss / 2**20, "url": info.url}


def server_stop(prefect_home: str) -> dict[str, Any]:
    from hermes.flows.server import stop_server

    started = time.perf_counter()
    stop_server(Path(prefect_home))
    return {"seconds": time.perf_counter() - started}


def run(work: str, prefect_home: str, mode: str, scenario: str, restore_from: str | None = None,
        save_to: str | None = None) -> dict[str, Any]:  # fmt: skip
    """Time one ``hermes run`` scenario on the lake ``work`` (restored first if given)."""
    lake = Path(work)
    use_lake(lake, None if scenario == "full" else restore_from, fresh=scenario == "full")
    environment = env(lake, prefect_home, mode)
    out: dict[str, Any] = {"scenario": scenario, "server": mode, "ingest_seconds": 0.0}
    if scenario == "one_candle":
        out["ingest_seconds"] = hermes(["ingest", str(_one_new_candle(lake))], environment)[0]
    seconds, stdout, peak = hermes(["run"], environment)
    status = next((line for line in stdout.splitlines() if "hermes refresh" in line), "")
    if save_to:
        snapshot_tree(lake, save_to)
    return out | {
        "run_seconds": seconds, "seconds": seconds + out["ingest_seconds"],
        "steps": steps(stdout), "status_line": status, "hermes_peak_rss_mb": peak,
    }  # fmt: skip


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
    moment = last + timedelta(hours=4)
    csv.write_text(f"timestamp,open,high,low,close,volume\n{moment:%Y-%m-%d %H:%M:%S},{price},"
                   f"{price * 1.002},{price * 0.997},{price * 1.001},123.456\n")  # fmt: skip
    return csv


def quality(work: str, restore_from: str, partitions: list[list[str]] | None) -> dict[str, Any]:
    """The quality checkpoint on a restored lake: seconds and memory above the imports."""
    from hermes.quality import run_checkpoint

    settings = use_lake(work, restore_from)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    result = run_checkpoint(
        settings,
        partitions=None if partitions is None else [(s, i) for s, i in partitions],
        docs_dir=Path(work).parent / "quality-docs",
    )
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "seconds": seconds,
        "rows": sum(result.statistics.get(t, 0) for t in ("silver_klines", "gold_features")),
        "expectations": result.evaluated, "failed": len(result.errors),
        "rss_after_imports_mb": before, "quality_rss_mb": peak - before,
    }  # fmt: skip


class Site(SimpleHTTPRequestHandler):
    """A quiet local peer: serves a folder's files, and accepts POSTs (a webhook's)."""

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (http.server's)
        return


@contextmanager
def serving(folder: Path) -> Iterator[str]:
    """:class:`Site` over ``folder`` on a free local port, as its URL."""
    folder.mkdir(parents=True, exist_ok=True)
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Site, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def backfill_missing(work: str, prefect_home: str) -> dict[str, Any]:
    """``hermes backfill`` of a year (2 symbols x 2 intervals) from a site that has none."""
    shutil.rmtree(work, ignore_errors=True)
    with serving(Path(work).parent / "empty-site") as url:
        seconds, stdout, peak = hermes(
            [
                "backfill",
                "--start",
                "2022-01-01",
                "--end",
                "2022-12-31",
                "-s",
                "BTCUSDT",
                "-s",
                "ETHUSDT",
                "-i",
                "4h",
                "-i",
                "1d",
                "--base-url",
                url,
            ],
            env(work, prefect_home),
        )
    status = stdout.splitlines()[0] if stdout else ""
    return {"seconds": seconds, "status_line": status, "hermes_peak_rss_mb": peak}  # fmt: skip
