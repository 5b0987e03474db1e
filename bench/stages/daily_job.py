"""Stage: the daily job as users wait for it, the ``hermes`` command timed end to end in a
child process (start-up, imports, the Prefect API, every step of the flow). Scenarios of
:func:`run`: ``full`` (a new lake), ``no_op`` (again, nothing new), ``one_candle`` (one new
BTCUSDT 4h candle ingested, then ``hermes run``)."""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import psutil

from bench.lakes import snapshot_tree, use_lake
from bench.measure import peak_mb, stopwatch

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
    timer, elapsed = [shutil.which("time") or "/usr/bin/time", "-f", f"{MAXRSS} %M"], stopwatch()
    proc = subprocess.run([*timer, sys.executable, "-m", "hermes.cli", *args], env=environment,
                          capture_output=True, text=True, timeout=1800, check=False)  # fmt: skip
    seconds = elapsed()
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
    elapsed = stopwatch()
    info = start_server(Path(prefect_home))
    seconds, rss = elapsed(), psutil.Process(info.pid).memory_info().rss
    return {"seconds": seconds, "server_rss_mb": rss / 2**20, "url": info.url}


def server_stop(prefect_home: str) -> dict[str, Any]:
    from hermes.flows.server import stop_server

    elapsed = stopwatch()
    stop_server(Path(prefect_home))
    return {"seconds": elapsed()}


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
    return out | {"run_seconds": seconds, "seconds": seconds + out["ingest_seconds"],
                  "steps": steps(stdout), "status_line": status,
                  "hermes_peak_rss_mb": peak}  # fmt: skip


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
    moment = f"{last + timedelta(hours=4):%Y-%m-%d %H:%M:%S}"
    prices = f"{price},{price * 1.002},{price * 0.997},{price * 1.001}"
    csv.write_text(f"timestamp,open,high,low,close,volume\n{moment},{prices},123.456\n")
    return csv


def quality(work: str, restore_from: str, partitions: list[list[str]] | None) -> dict[str, Any]:
    """The quality checkpoint on a restored lake: seconds and memory above the imports."""
    from hermes.quality import run_checkpoint

    settings = use_lake(work, restore_from)
    before, elapsed = peak_mb(), stopwatch()
    result = run_checkpoint(settings, partitions=None if partitions is None else [
        (s, i) for s, i in partitions], docs_dir=Path(work).parent / "quality-docs")  # fmt: skip
    return {
        "seconds": elapsed(),
        "rows": sum(result.statistics.get(t, 0) for t in ("silver_klines", "gold_features")),
        "expectations": result.evaluated, "failed": len(result.errors),
        "rss_after_imports_mb": before, "quality_rss_mb": peak_mb() - before,
    }  # fmt: skip


@contextmanager
def serving() -> Iterator[str]:
    """A quiet local peer on a free port, as its URL: a site with no files (every GET a 404),
    that accepts POSTs (a webhook's)."""
    from werkzeug.serving import make_server
    from werkzeug.wrappers import Request, Response

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request

    @Request.application
    def peer(request: Request) -> Response:
        request.get_data()
        return Response(status=200 if request.method == "POST" else 404)

    server = make_server("127.0.0.1", 0, peer, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def backfill_missing(work: str, prefect_home: str) -> dict[str, Any]:
    """``hermes backfill`` of a year (2 symbols x 2 intervals) from a site that has none."""
    shutil.rmtree(work, ignore_errors=True)
    with serving() as url:
        args = "backfill --start 2022-01-01 --end 2022-12-31 -s BTCUSDT -s ETHUSDT -i 4h -i 1d"
        seconds, stdout, peak = hermes([*args.split(), "--base-url", url], env(work, prefect_home))
    status = stdout.splitlines()[0] if stdout else ""
    return {"seconds": seconds, "status_line": status, "hermes_peak_rss_mb": peak}
