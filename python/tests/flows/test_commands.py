"""The flow commands as a user runs them: a real Prefect server, worker and child processes.

* the deployment of ``prefect.yaml``, deployed with ``prefect deploy`` to the session's
  Prefect server, runs once on a ``local`` process worker (a real refresh of one archive);
* ``hermes refresh`` with nothing new answers without any flow run, and ``hermes run`` on
  an unchanged lake too;
* ``hermes serve`` refuses without a server, and stops cleanly on SIGTERM;
* a ``hermes run`` killed with SIGTERM leaves no Prefect server behind;
* a backfill over months the site never published learns it from HEAD requests alone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests
from fixtures.binance import archive, kline_zip, publish
from fixtures.binance import serve_site as serve_site_
from fixtures.children import unmeasured

from hermes.config import PROJECT_ROOT, Settings
from hermes.flows.changes import probe_archives
from hermes.ingest import ArchiveName, ingest_paths
from hermes.lake import connect
from hermes.publication import attach_published
from hermes.publish import publish as publish_state
from hermes.universe import active_symbols

HERMES = [sys.executable, "-m", "hermes.cli"]
API_URL = os.environ["PREFECT_API_URL"]  # the session's server (conftest.py)
PREFECT = str(Path(sys.executable).with_name("prefect"))
BUNDLED = sorted((PROJECT_ROOT / "data" / "binance-ohlcv").glob("*.csv.gz"))


def env_for(lake: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HERMES_", "PREFECT_API"))}
    return {
        **env,
        "HERMES_LAKE_ROOT": str(lake),
        "HERMES_TARGET": "local",
        "PREFECT_API_URL": API_URL,
        "COLUMNS": "200",
        **extra,
    }


def api(path: str, body: dict[str, Any] | None = None) -> Any:
    response = requests.post(f"{API_URL}/{path}", json=body or {}, timeout=30)
    response.raise_for_status()
    return response.json()


def flow_run_count() -> int:
    return int(api("flow_runs/count"))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    root = tmp_path_factory.mktemp("site")
    name = archive("BTCUSDT-4h-2024-02-07.zip")
    publish(root, name, kline_zip(name))
    with serve_site_(root) as served:
        yield served


def run(
    args: list[str], env: dict[str, str], cwd: Path = PROJECT_ROOT, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_the_deployment_runs_on_a_local_worker(
    site: tuple[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> None:
    base_url, _ = site
    lake = tmp_path_factory.mktemp("deployed") / "lake"
    # Prefect's commands, and the worker running the daily flow the other flow tests run in
    # process (test_daily_refresh_flow.py, test_secret_at_rest.py): no Hermes line only they
    # reach, so they run without coverage's tracer (fixtures/children.py)
    env = unmeasured(env_for(lake))
    pool = run([PREFECT, "work-pool", "create", "local", "--type", "process"], env)
    assert pool.returncode == 0, pool.stdout + pool.stderr
    deploy = run([PREFECT, "--no-prompt", "deploy", "--all"], env)
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr
    deployments = {
        d["name"]: d
        for d in api("deployments/filter", {"deployments": {"name": {"any_": ["daily"]}}})
    }
    daily = deployments["daily"]
    assert [s["schedule"]["cron"] for s in daily["schedules"]] == ["0 3 * * *"]
    assert [s["schedule"]["timezone"] for s in daily["schedules"]] == ["UTC"]
    assert daily["work_pool_name"] == "local"
    # the pairs default to the universe's active ones, read when the flow runs (no default
    # frozen into the deployment)
    assert "symbols" not in daily["parameters"]
    schema = daily["parameter_openapi_schema"]["properties"]
    assert schema["symbols"].get("default") is None and len(active_symbols()) == 19
    started = run(
        [
            PREFECT, "deployment", "run", "hermes-daily-refresh/daily",
            "--param", "day=2024-02-07", "--param", f"base_url={base_url}",
            "--param", "lookback_days=1",
            "--param", 'symbols=["BTCUSDT"]', "--param", 'intervals=["4h"]',
        ],
        env,
    )  # fmt: skip
    assert started.returncode == 0, started.stdout + started.stderr
    # the worker runs from elsewhere: the deployment names the project folder
    worker = run(
        [PREFECT, "worker", "start", "--pool", "local", "--run-once"], env, cwd=lake.parent
    )
    assert worker.returncode == 0, worker.stdout + worker.stderr
    runs = api(
        "flow_runs/filter",
        {"deployments": {"id": {"any_": [daily["id"]]}}, "sort": "START_TIME_DESC"},
    )
    finished = [r for r in runs if r["state_type"] == "COMPLETED"]
    assert len(finished) == 1, [r["state_type"] for r in runs]
    conn = connect(Settings(lake_root=lake))
    try:
        attach_published(conn)
        assert conn.execute("select count(*) from published.silver_klines").fetchone() == (6,)
        status = conn.execute(
            "select distinct json_extract_string(summary, '$.status') from hermes_publications"
        ).fetchall()
    finally:
        conn.close()
    assert status == [("published",)]


def test_refresh_with_nothing_new_runs_no_flow(
    site: tuple[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> None:
    base_url, control = site
    lake = tmp_path_factory.mktemp("quiet") / "lake"
    before, gets = flow_run_count(), len(control.requests)
    result = run(
        [*HERMES, "refresh", "--day", "2024-03-01", "--symbol", "BTCUSDT",
         "--interval", "4h", "--lookback-days", "2", "--base-url", base_url],
        env_for(lake),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[0] == (
        "hermes refresh: nothing new (0 file(s) ingested, 0 quarantined, 3 not yet available); "
        "published state unchanged"
    )
    assert "flow run:" not in result.stdout
    assert flow_run_count() == before
    assert len(control.requests) == gets  # HEAD requests only


def test_run_on_an_unchanged_lake_runs_no_flow(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    settings = Settings(lake_root=lake)
    ingest_paths(BUNDLED, settings)
    conn = connect(settings)
    try:
        publish_state(conn, "test", "data", {"reports": []})
    finally:
        conn.close()
    before = flow_run_count()
    result = run([*HERMES, "run"], env_for(lake))
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("hermes refresh: nothing new (0 file(s) ingested")
    assert "  unchanged (already landed): 4 file(s)" in lines
    assert flow_run_count() == before
    loaded = run([sys.executable, "-c", NO_OP_MODULES], env_for(lake))
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    assert "hermes refresh: nothing new" in loaded.stdout
    assert loaded.stdout.splitlines()[-1] == "loaded: []"  # none of the heavy libraries


NO_OP_MODULES = """
import sys
from hermes.cli import app
try:
    app(["run"])
except SystemExit:
    pass
heavy = ("prefect", "dbt", "great_expectations", "vectorbt", "polars", "pandas", "pyarrow",
         "numpy", "requests")
print("loaded:", sorted(m for m in heavy if m in sys.modules))
"""
"""``hermes run`` with nothing new, reporting which heavy libraries it imported."""


def test_serve_refuses_without_a_server(tmp_path: Path) -> None:
    env = env_for(tmp_path / "lake", PREFECT_HOME=str(tmp_path / "prefect"))
    del env["PREFECT_API_URL"]
    result = run([*HERMES, "serve"], env, timeout=120)
    assert result.returncode == 2
    assert "hermes serve needs a Prefect server" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def _served(name: str) -> dict[str, Any] | None:
    found = api("deployments/filter", {"deployments": {"name": {"any_": [name]}}})
    return found[0] if found else None


def test_serve_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [*HERMES, "serve", "--cron", "0 4 * * *"],
        env=env_for(tmp_path / "lake"),
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            served = _served("hermes-daily")
            if served is not None and not served["paused"] and served["schedules"]:
                break
            assert process.poll() is None, process.communicate()
            time.sleep(0.5)
        else:
            pytest.fail("hermes serve did not register its deployment")
        # at once: the deployment is visible before the runner has started, and a SIGTERM
        # in that window must stop it cleanly too
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, out + err
    assert "never awaited" not in err and "Traceback" not in out + err, err
    assert "stopped serving" in out
    served = _served("hermes-daily")
    assert served is not None and served["paused"]
    assert [s["schedule"]["cron"] for s in served["schedules"]] == ["0 4 * * *"]


def _children(pid: int) -> list[int]:
    result = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False)
    return [int(p) for p in result.stdout.split()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(") ", 1)[1][0] != "Z"


def test_killed_run_leaves_no_prefect_server(tmp_path: Path) -> None:
    env = env_for(
        tmp_path / "lake", HERMES_PREFECT_SERVER="temporary", PREFECT_HOME=str(tmp_path / "p")
    )
    del env["PREFECT_API_URL"]
    process = subprocess.Popen(
        [*HERMES, "run"], env=env, cwd=PROJECT_ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        server: list[int] = []
        deadline = time.monotonic() + 180
        while not server and time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()
            server = _children(process.pid)
            time.sleep(0.2)
        assert server, "no temporary Prefect server started"
        time.sleep(3)  # the flow is running
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, out + err
    assert "interrupted: the flow run is marked crashed" in out
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in server) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in server if _alive(pid)]


def test_probe_finds_which_archives_exist(site: tuple[str, Any]) -> None:
    base_url, control = site
    present = ArchiveName.parse("BTCUSDT-4h-2024-02-07.zip")
    missing = ArchiveName.parse("BTCUSDT-4h-2024-02-08.zip")
    flaky = ArchiveName.parse("BTCUSDT-4h-2024-02-09.zip")
    control.failures["/" + flaky.url(base_url).split("/", 3)[3] + ".CHECKSUM"] = 1
    assert probe_archives([present, missing, flaky], base_url) == {
        present.source_file: True,
        missing.source_file: False,
        flaky.source_file: True,  # a 503 is not an absence: the download decides
    }
    assert probe_archives([], base_url) == {}
    assert probe_archives([missing], "http://127.0.0.1:9") == {missing.source_file: True}


def test_backfill_of_unpublished_months_downloads_nothing(
    site: tuple[str, Any], lake_settings: Settings
) -> None:
    from hermes.flows.daily_refresh import backfill

    base_url, control = site
    gets, heads = len(control.requests), len(control.heads)
    summary = backfill(
        start=date(2022, 1, 1),
        end=date(2022, 12, 31),
        symbols=["BTCUSDT", "ETHUSDT"],
        intervals=["4h", "1d"],
        base_url=base_url,
        today=date(2024, 2, 10),
    )
    assert summary.status == "no-op"
    assert len(summary.not_available) == 4 * 365
    assert control.requests[gets:] == []
    assert len(control.heads) - heads == 4 * 12 + 4 * 365


def test_server_command_reports_the_running_server(tmp_path: Path) -> None:
    env = env_for(tmp_path / "lake")  # PREFECT_HOME: the session's server (conftest.py)
    url = run([*HERMES, "server", "url"], env, timeout=120)
    assert (url.returncode, url.stdout.strip()) == (0, API_URL)
    status = run([*HERMES, "server", "status"], env, timeout=120)
    assert status.returncode == 0 and f"Prefect server running: {API_URL}" in status.stdout
    elsewhere = run(
        [*HERMES, "server", "status"], {**env, "PREFECT_HOME": str(tmp_path / "p")}, timeout=120
    )
    assert elsewhere.returncode == 1 and "no Prefect server running" in elsewhere.stdout
    wrong = run([*HERMES, "server", "restart"], env, timeout=120)
    assert wrong.returncode == 2 and "No such command 'restart'" in wrong.stderr


def test_backfill_command_of_unpublished_months_runs_no_flow(
    site: tuple[str, Any], tmp_path: Path
) -> None:
    base_url, control = site
    before, gets, heads = flow_run_count(), len(control.requests), len(control.heads)
    result = run(
        [*HERMES, "backfill", "--start", "2022-01-01", "--end", "2022-03-31",
         "-s", "BTCUSDT", "-s", "ETHUSDT", "-i", "4h", "--base-url", base_url],
        env_for(tmp_path / "lake"),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[0] == (
        "hermes refresh: nothing new (0 file(s) ingested, 0 quarantined, "
        f"{2 * (31 + 28 + 31)} not yet available); published state unchanged"
    )
    assert flow_run_count() == before
    assert control.requests[gets:] == []
    assert len(control.heads) - heads == 2 * 3 + 2 * (31 + 28 + 31)
