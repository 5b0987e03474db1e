"""Shared fixtures: throw-away lakes, and one lake built from the bundled real data."""

from __future__ import annotations

import fcntl
import os
import pickle
import pwd
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
from catalog.local_postgres import SERVICE_USER, LocalPostgres, pg_bin, start_local_postgres
from fixtures.bundled_lake import BUNDLED_DATA, build_bundled_lake, make_settings
from fixtures.children import untraced
from s3.local_s3 import Built, LocalS3, build_lake, start_local_s3, unique_prefix

from hermes.config import PROJECT_ROOT, Settings
from hermes.ingest.report import IngestReport

__all__ = ["BUNDLED_DATA", "make_settings"]

T = TypeVar("T")

_WORKER = os.environ.get("PYTEST_XDIST_WORKER")
if _WORKER:
    # dbt commands run without a target folder of their own (`hermes build`) would all write
    # the project's target/ (partial parse, manifest): under xdist, one folder per worker
    for _name, _folder in (("DBT_TARGET_PATH", "target"), ("DBT_LOG_PATH", "logs")):
        os.environ.setdefault(_name, str(PROJECT_ROOT / "target" / f"pytest-{_WORKER}" / _folder))


TESTS = Path(__file__).parent
SHARED_GROUPS = {
    "flows/": "flows",  # the session's Prefect server (flows/conftest.py)
    "report/": "report",  # the research lake (report/conftest.py)
    "s3/test_s3_lake.py": "s3-lake",  # built_s3_lake: its moto server lives in the worker
    "s3/test_secret_leak.py": "s3-lake",
    "ml/test_ml_models.py": "s3-lake",
    "test_end_to_end.py": "s3-lake",
}
"""Test files sharing a per-worker session fixture that is not copied between workers: one
group each, so one worker builds (or starts) it. Every other file is a group of its own."""
HEAVY_FIRST = (  # share of the suite's test time, measured with 2 workers (load 5-18)
    "flows",  # 17.5 %
    "test_dbt_as_written.py",  # 9.3 %
    "signals/test_signal_model_proofs.py",  # 7.6 % (builds refreshed_lake)
    "s3-lake",  # 3.7 %, and it builds built_lake and built_s3_lake
    "report",  # 7.3 %
    "signals/test_lookahead_check.py",  # 6.6 %
    "paper/test_ledger.py",  # 6.0 %
    "test_cli_safety.py",  # 5.6 %
    "backtest/test_backtest_lake.py",  # 4.9 %
    "backtest/test_studies_lake.py",  # 4.8 %
    "signals/test_add_a_strategy.py",  # 3.5 %
    "quality/test_quality_defects.py",
    "ingest/test_ingest_download.py",
    "quality/test_quality_checkpoint.py",
    "test_cli_terminal.py",
)
"""Groups sent to the workers first, the costliest first (measured), so that the suite does
not end with one worker alone on a long file."""


def _group(name: str) -> str:
    """The group of a test file (its path below python/tests)."""
    return next((g for prefix, g in SHARED_GROUPS.items() if name.startswith(prefix)), name)


def _item_group(item: pytest.Item) -> str:
    return _group(item.path.relative_to(TESTS).as_posix())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The heaviest groups first (a stable sort: each file's tests keep their order)."""
    rank = {group: n for n, group in enumerate(HEAVY_FIRST)}
    items.sort(key=lambda item: rank.get(_item_group(item), len(rank)))


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadgroup`` (``make test``): each group above is one unit of work, kept whole
    on one worker (its module and per-worker session fixtures are built once), sent in
    collection order (with ``--no-loadscope-reorder``: heaviest first).

    pytest-xdist's own loadgroup reads groups from node ids it rewrites, which pytest 9 no
    longer allows (pytest-xdist#1386): this scheduler finds the group from the path instead.
    """
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    root = TESTS.relative_to(config.rootpath).as_posix() + "/"

    class FileGroups(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _group(nodeid.split("::", 1)[0].removeprefix(root))

    return FileGroups(config, log)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    """A test of an ``untraced`` file runs (set-up, call, tear-down) with the tracer paused."""
    if item.get_closest_marker("untraced") is None:
        return (yield)
    with untraced():
        return (yield)


@pytest.fixture
def lake_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """An empty local lake in a temporary folder, also exported as HERMES_LAKE_ROOT."""
    root = tmp_path / "lake"
    monkeypatch.setenv("HERMES_LAKE_ROOT", str(root))
    monkeypatch.setenv("HERMES_TARGET", "local")
    return make_settings(root)


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` (created if needed), shared by every test process."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def shared_lake(
    factory: pytest.TempPathFactory, name: str, build: Callable[[Path], T]
) -> tuple[Path, T]:
    """A lake built once per test session, this process's own copy of it, and what the
    build returned (kept with the lake: it must pickle).

    Without workers the lake is built in place. Under pytest-xdist (``-n 2``) the first
    worker to get here builds it, under a file lock, in the folder every worker of this
    session shares (the parent of the workers' own temporary folders); each worker then
    copies the finished folder into its own: a lake is a folder that can be copied, and a
    DuckDB catalog is opened by one process at a time. ``build`` may write beside the lake
    (its parent folder is the build's own).
    """
    mine = factory.mktemp(name) / "lake"
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        return mine, build(mine)
    shared = factory.getbasetemp().parent / f"shared-{name}"
    shared.mkdir(exist_ok=True)
    with file_lock(shared / ".lock"):
        if not (shared / ".built").exists():
            shutil.rmtree(shared / "lake", ignore_errors=True)
            (shared / ".built").write_bytes(pickle.dumps(build(shared / "lake")))
    shutil.copytree(shared / "lake", mine, symlinks=True)
    return mine, pickle.loads((shared / ".built").read_bytes())  # noqa: S301 written above


@pytest.fixture(scope="session")
def built_lake_build(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Settings, IngestReport]]:
    """``built_lake`` and what its ingest reported (the build itself is ``built_lake``'s)."""
    previous = {k: os.environ.get(k) for k in ("HERMES_LAKE_ROOT", "HERMES_TARGET")}
    os.environ["HERMES_TARGET"] = "local"

    def build(root: Path) -> IngestReport:
        os.environ["HERMES_LAKE_ROOT"] = str(root)
        return build_bundled_lake(root)

    root, report = shared_lake(tmp_path_factory, "built", build)
    os.environ["HERMES_LAKE_ROOT"] = str(root)
    yield make_settings(root), report
    for key, value in previous.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def built_lake(built_lake_build: tuple[Settings, IngestReport]) -> Settings:
    """A lake with the bundled BTCUSDT/ETHUSDT 4h and 1d data ingested and `dbt build` run.

    Session-scoped and shared (built once even across xdist workers): tests must only read it.
    """
    return built_lake_build[0]


@pytest.fixture
def built_lake_copy(
    built_lake: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """A test's own copy of ``built_lake``, to write to (exported as HERMES_LAKE_ROOT): the
    same lake as a fresh ingest and `dbt build` of the bundled data, without paying for one."""
    root = tmp_path / "lake"
    shutil.copytree(built_lake.lake_root, root, symlinks=True)
    monkeypatch.setenv("HERMES_LAKE_ROOT", str(root))
    monkeypatch.setenv("HERMES_TARGET", "local")
    return make_settings(root)


@pytest.fixture(scope="session")
def refreshed_lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, dict]]:
    """The two-step lake with truncated series (:mod:`fixtures.refreshed_lake`), built once
    per session like ``built_lake``; read only."""
    from fixtures.refreshed_lake import build_refreshed_lake

    saved = dict(os.environ)

    def build(root: Path) -> dict:
        os.environ["HERMES_LAKE_ROOT"] = str(root)
        os.environ["HERMES_TARGET"] = "local"
        try:
            return build_refreshed_lake(root.parent)[1]
        finally:  # the other tests keep the session's environment (built_lake's)
            os.environ.clear()
            os.environ.update(saved)

    root, info = shared_lake(tmp_path_factory, "refreshed", build)
    yield make_settings(root), info


@pytest.fixture(scope="session")
def local_s3() -> Iterator[LocalS3]:
    """A live S3 endpoint for the session: moto's server on 127.0.0.1, auth on, one bucket."""
    server = start_local_s3()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def local_postgres() -> Iterator[LocalPostgres]:
    """PostgreSQL from Debian's packages on 127.0.0.1 (stopped at the end, even on failure),
    one per worker: the catalog tests and the scale-out flow test (each its own database)."""
    bin_dir = pg_bin()
    if bin_dir is None:
        pytest.skip("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVICE_USER)
        except KeyError:
            pytest.skip(f"running as root and no {SERVICE_USER!r} user to run PostgreSQL as")
    server = start_local_postgres(bin_dir)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def built_s3_build(
    local_s3: LocalS3, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Settings, Built]]:
    """``built_s3_lake`` and what its ingest, signals and backtests returned."""
    root = tmp_path_factory.mktemp("built-s3") / "lake"
    settings = local_s3.settings(root, unique_prefix("built"))
    with build_lake(settings, sorted(BUNDLED_DATA.glob("*.csv.gz"))) as built:
        yield settings, built


@pytest.fixture(scope="session")
def built_s3_lake(built_s3_build: tuple[Settings, Built]) -> Settings:
    """``built_lake`` on the ``s3`` target, plus smart_momentum signals and backtests.

    The catalog is a local file; everything the build printed is kept in ``build.log`` beside
    it (for the secret-leak test). Session-scoped, one per worker (its tests are one xdist
    group, see ``pytest_collection_modifyitems``): tests must only read it.
    """
    return built_s3_build[0]


@pytest.fixture(params=["local", "s3"])
def built_lake_on(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The built lake on each target: a test using it runs once on the local folder, once on S3.

    The lake's settings are exported for the test (``Settings.from_env()`` finds it).
    """
    settings = request.getfixturevalue(
        "built_lake" if request.param == "local" else "built_s3_lake"
    )
    for key, value in settings.dbt_env().items():
        monkeypatch.setenv(key, value)
    return settings
