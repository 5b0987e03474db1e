"""Run dbt in-process (dbtRunner) against the lake described by :class:`Settings`.

dbt is imported when a command runs, not with this module (importing dbt takes seconds).
``on_node`` receives each node's result as soon as dbt finishes it, so long builds show
progress while they run. Several commands of one job parse the project once:
:func:`parse_project` returns dbt's manifest, which later commands take as ``manifest``
(dbt's programmatic API then skips its own parse).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hermes.config import PROJECT_ROOT, Settings

if TYPE_CHECKING:
    from dbt.cli.main import dbtRunnerResult
    from dbt.contracts.graph.manifest import Manifest


class DbtError(RuntimeError):
    """A dbt command failed; ``failures`` names the failing nodes and their messages."""

    def __init__(self, command: str, failures: list[str]):
        self.failures = failures
        detail = "\n".join(f"  - {f}" for f in failures) or "  (no node result; see dbt log)"
        super().__init__(f"dbt {command} failed:\n{detail}")


@dataclass(frozen=True)
class NodeResult:
    name: str
    resource_type: str
    status: str
    message: str
    execution_time: float
    compiled_code: str = ""
    """The node's compiled SQL (final results only; empty in progress callbacks)."""


def run_dbt(
    args: Sequence[str],
    settings: Settings | None = None,
    *,
    target_path: Path | None = None,
    vars: dict[str, Any] | None = None,
    raise_on_failure: bool = True,
    on_node: Callable[[NodeResult], None] | None = None,
    manifest: Manifest | None = None,
) -> tuple[dbtRunnerResult, list[NodeResult]]:
    """Invoke ``dbt <args>`` for the Hermes project; returns the result and per-node results.

    ``target_path`` keeps compiled artifacts out of the shared ``target/`` folder (tests and
    concurrent runs each use their own). ``on_node`` is called with each node's result as
    dbt finishes it (from dbt's worker threads). ``manifest``: the project as
    :func:`parse_project` parsed it with the same ``vars`` (dbt does not parse it again).
    """
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    from dbt.cli.main import dbtRunner

    settings = settings or Settings.from_env()
    os.environ.update(settings.dbt_env())
    cli_args = [
        *args,
        "--project-dir",
        str(PROJECT_ROOT),
        "--profiles-dir",
        str(PROJECT_ROOT),
    ]
    if target_path is not None:
        cli_args += ["--target-path", str(target_path)]
        cli_args += _saved_parse_args(target_path)
        os.environ["DBT_LOG_PATH"] = str(target_path / "logs")
    if vars:
        import json

        cli_args += ["--vars", json.dumps(vars)]
    if args and args[0] in ("build", "run", "seed"):
        from hermes.signals.registry_file import check_registry

        check_registry()  # a registry mistake is one line, before dbt starts
    if args and args[0] in ("build", "run"):
        _ensure_result_tables(settings)
    try:
        callbacks = [] if on_node is None else [_node_callback(on_node)]
        result = dbtRunner(manifest=manifest, callbacks=callbacks).invoke(cli_args)
    finally:
        # dbt-duckdb keeps its DuckDB instance, and so the attached catalog, open after the
        # run; release it so that other connections of this process can attach the lake.
        DuckDBConnectionManager.close_all_connections()
        if target_path is not None:
            _share_saved_parse(target_path)
    nodes = _node_results(result)
    if raise_on_failure and not result.success:
        failures = [
            f"{n.resource_type} {n.name}: {n.status}: {n.message}"
            for n in nodes
            if n.status in ("error", "fail", "runtime error")
        ]
        if not failures and result.exception is not None:
            # dbt's own errors carry the bare message in `msg` (str() adds the macro stack)
            failures = [str(getattr(result.exception, "msg", None) or result.exception).strip()]
        raise DbtError(f"{' '.join(args[:1])} on {settings.location}", failures)
    return result, nodes


def parse_project(
    settings: Settings | None = None,
    *,
    target_path: Path | None = None,
    vars: dict[str, Any] | None = None,
) -> Manifest:
    """Parse the project once (``dbt parse``, partially when dbt's saved parse in the target
    folder still holds) and return dbt's manifest, for the ``manifest`` of later commands.

    Raises :class:`DbtError` when the project does not parse. No ``manifest.json`` is
    written here: the command that runs next writes it.
    """
    result, _ = run_dbt(["parse", "--no-write-json"], settings, target_path=target_path, vars=vars)
    return result.result  # type: ignore[return-value]  # `dbt parse` returns its Manifest


PARSE_FILE = "partial_parse.msgpack"
"""dbt's saved parse of the project, in its target folder."""


def shared_target() -> Path:
    """The target folder of dbt commands run without one of their own (``DBT_TARGET_PATH``,
    else the project's ``target/``): it also keeps the newest parse for new target folders."""
    return Path(os.environ.get("DBT_TARGET_PATH") or PROJECT_ROOT / "target")


def _saved_parse_args(target_path: Path) -> list[str]:
    """A target folder with no saved parse yet (a new lake's) starts from the shared one.

    dbt checks a saved parse as it checks its own (project files, vars, profile, version)
    and parses again what no longer holds; the profile names no lake path (see
    ``hermes.dbt_plugin``), so a parse made on one lake holds on every other.
    """
    shared = shared_target() / PARSE_FILE
    if (target_path / PARSE_FILE).exists() or not shared.is_file():
        return []
    return ["--partial-parse-file-path", str(shared)]


def _share_saved_parse(target_path: Path) -> None:
    """Copy the parse dbt saved in ``target_path`` to the shared target folder when it is
    newer (written to a temporary file, then renamed: a reader never sees half a file).
    Only a cache: a folder that cannot be written leaves the next new lake a full parse."""
    own, shared = target_path / PARSE_FILE, shared_target() / PARSE_FILE
    if own == shared or not own.is_file():
        return
    if shared.is_file() and shared.stat().st_mtime >= own.stat().st_mtime:
        return
    partial = shared.with_name(f".{PARSE_FILE}.{os.getpid()}")
    try:
        shared.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(own, partial)
        os.replace(partial, shared)
    except OSError:
        with suppress(OSError):
            partial.unlink()


def _ensure_result_tables(settings: Settings) -> None:
    """Create the tables Python writes (backtest results) so dbt views over them bind."""
    from hermes.backtest.tables import ensure_tables
    from hermes.lake import connect

    with connect(settings) as conn:
        ensure_tables(conn)


def _node_results(result: dbtRunnerResult) -> list[NodeResult]:
    out: list[NodeResult] = []
    results = getattr(result.result, "results", None) or []
    for r in results:
        node = getattr(r, "node", None)
        out.append(
            NodeResult(
                name=getattr(node, "name", "?"),
                resource_type=str(getattr(node, "resource_type", "?")),
                status=str(getattr(r, "status", "?")),
                message=str(getattr(r, "message", "") or ""),
                execution_time=float(getattr(r, "execution_time", 0.0) or 0.0),
                compiled_code=str(getattr(node, "compiled_code", "") or ""),
            )
        )
    return out


def _node_callback(on_node: Callable[[NodeResult], None]) -> Callable[[Any], None]:
    """A dbt event callback passing each ``NodeFinished`` event on as a :class:`NodeResult`."""

    def callback(event: Any) -> None:
        if event.info.name != "NodeFinished":
            return
        node, result = event.data.node_info, event.data.run_result
        on_node(
            NodeResult(
                name=node.node_name,
                resource_type=node.resource_type,
                status=result.status,
                message=result.message or "",
                execution_time=float(result.execution_time or 0.0),
            )
        )

    return callback
