"""dbt as a dbt user runs it: every dbt command the documentation (README.md and the pages of
the site, in the order of its navigation) gives to type, as printed, from the project root.

A command to type is a line of a fenced ``bash`` block starting with ``dbt`` (or
``.venv/bin/dbt``), or a ``$ dbt ...`` example of a ``text`` block, checked against the output
printed under it. Inline code in prose (``dbt build`` named in a sentence) is prose, never
run: a sentence may name a command of another lake or a failure message. A command meant
for another lake names it on its line (``HERMES_LAKE_ROOT=... dbt ...``), so it does not start
with ``dbt`` and is not run against the research lake here.

The commands run in a shell in the project folder with the venv's ``bin`` on ``PATH`` and
nothing else but the lake (``HERMES_LAKE_ROOT``) and dbt's output folders set: no
``--profiles-dir``, no ``--project-dir``. Skipped: commands holding a placeholder (``<...>``,
``...``) and ``--target s3`` ones (the S3 suite runs that target).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from fixtures.children import unmeasured
from fixtures.documentation import documentation

from hermes.config import PROJECT_ROOT, Settings
from hermes.ingest import ingest_paths
from hermes.lake import connect

pytestmark = pytest.mark.untraced  # every line it runs, other files measure (fixtures/children.py)

BUNDLED = PROJECT_ROOT / "data" / "binance-ohlcv"
_FENCE = re.compile(r"```(\w*)\n(.*?)```", re.S)
_LOG_LINE = re.compile(r"^\x1b\[0m\d\d:\d\d:\d\d|^\d\d:\d\d:\d\d")


@dataclass(frozen=True)
class Command:
    line: str
    expected: tuple[str, ...] | None = None  # printed output, for `$ dbt ...` examples


def readme_dbt_commands() -> list[Command]:
    """dbt commands of the documentation in order, each once: lines of ``bash`` blocks, ``$``
    examples of ``text`` blocks with their output (never inline code in prose)."""
    text = documentation()
    found: list[tuple[int, Command]] = []
    for fence in _FENCE.finditer(text):
        if fence.group(1) not in ("bash", "text"):
            continue  # diagrams
        lines = fence.group(2).splitlines()
        for index, line in enumerate(lines):
            shown = line.removeprefix("$ ")
            command = shown.split("  #", 1)[0].rstrip()
            if not re.match(r"(\.venv/bin/)?dbt ", command):
                continue
            expected = None
            if line.startswith("$ "):
                rest = lines[index + 1 :]
                end = next((i for i, x in enumerate(rest) if x.startswith("$ ")), len(rest))
                expected = tuple(x for x in rest[:end] if x.strip())
            if fence.group(1) == "text" and expected is None:
                continue  # a log line quoting a command, not a command to type
            found.append((fence.start() + index, Command(command, expected)))
    commands: dict[str, Command] = {}  # each command once (pages repeat `dbt build`)
    for _, command in sorted(found, key=lambda pair: pair[0]):
        commands.setdefault(command.line.removeprefix(".venv/bin/"), command)
    return list(commands.values())


def _runnable(command: Command) -> bool:
    placeholder = "<" in command.line or "..." in command.line  # or a message quoted in prose
    return not placeholder and "--target s3" not in command.line


def run_shell(
    line: str, lake: Path, work: Path, *, measured: bool = True
) -> subprocess.CompletedProcess[str]:
    """``line`` in a shell in the project folder; ``measured=False``: without coverage's
    tracer, for commands that run only Hermes code the in-process builds run
    (:mod:`fixtures.children`)."""
    env = {
        key: value
        for key, value in (os.environ if measured else unmeasured(os.environ)).items()
        if not key.startswith(("HERMES_", "DBT_", "AWS_"))
    }
    env |= {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        "HERMES_LAKE_ROOT": str(lake),
        "DBT_TARGET_PATH": str(work / "target"),
        "DBT_LOG_PATH": str(work / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    return subprocess.run(
        ["bash", "-c", line],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def _output_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [x for x in result.stdout.splitlines() if x.strip() and not _LOG_LINE.match(x)]


def test_the_readme_shows_the_dbt_commands_users_need() -> None:
    lines = [c.line for c in readme_dbt_commands()]
    assert ".venv/bin/dbt build" in lines
    assert ".venv/bin/dbt docs generate" in lines
    assert any("--selector" in line for line in lines)
    assert not any("--profiles-dir" in line or "--project-dir" in line for line in lines)
    assert sum(_runnable(c) for c in readme_dbt_commands()) >= 6
    # named in prose only (docs/live-signals.md, docs/ml.md): prose, not run
    assert "dbt compile" not in lines
    assert "dbt run --select gold_ml_predictions gold_ml_models" not in lines


@pytest.fixture(scope="module")
def saved_parse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """dbt's saved parse of the project (``partial_parse.msgpack``), from one ``dbt parse``
    for the module.

    A test's target folder starts from it, as a user's does after their first command: dbt
    checks it against the project's files, vars and profile, and parses again whatever no
    longer holds, so the commands print and do the same as after a parse from nothing (the
    parse from nothing ran here). Only ``test_partial_parsing_is_kept_between_commands``
    starts from an empty folder: it proves dbt saves the parse.
    """
    work = tmp_path_factory.mktemp("parse")
    parsed = run_shell("dbt parse", work / "lake", work, measured=False)
    assert parsed.returncode == 0, parsed.stdout[-3000:]
    assert not (work / "lake").exists()  # parsing opens no lake
    return work / "target" / "partial_parse.msgpack"


def target_from(saved: Path, work: Path) -> Path:
    """``work``'s dbt target folder, holding the saved parse ``saved``."""
    (work / "target").mkdir()
    return Path(shutil.copy2(saved, work / "target"))


@pytest.fixture(scope="module")
def daily_lake(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The bundled 1d candles landed in a lake of this module's own (dbt builds it)."""
    settings = Settings(lake_root=tmp_path_factory.mktemp("dbt") / "lake")
    assert ingest_paths(sorted(BUNDLED.glob("*_1d.csv.gz")), settings).ok
    return settings


def test_every_readme_dbt_command_works_as_printed(
    daily_lake: Settings, saved_parse: Path, tmp_path: Path
) -> None:
    lake = daily_lake.lake_root
    target_from(saved_parse, tmp_path)
    for command in filter(_runnable, readme_dbt_commands()):
        # builds, lists and docs that succeed: the plugin and Python models the in-process
        # builds measure (the failing commands below stay measured)
        result = run_shell(command.line, lake, tmp_path, measured=False)
        assert result.returncode == 0, (command.line, result.stdout[-3000:], result.stderr)
        if command.expected is not None:
            assert _output_lines(result) == list(command.expected), command.line
    conn = connect(daily_lake, read_only=True)
    try:
        counts = conn.execute(
            "select count(*), count(momentum_score_20) from gold_feature_store"
        ).fetchone()
    finally:
        conn.close()
    # the last build selected gold_feature_store with use_test_features: the view holds the
    # experimental columns, the 20-bar momentum score null during each series' 20-bar warm-up
    assert counts == (2 * 3065, 2 * (3065 - 20))
    assert (tmp_path / "target" / "catalog.json").is_file()


def test_selectors_hold_what_the_readme_says(
    daily_lake: Settings, saved_parse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each selector's ``dbt ls``, run in this process on one parse of the project (dbt's
    programmatic API; the commands as a user types them are the test above)."""
    from dbt.cli.main import dbtRunner
    from dbt.contracts.graph.manifest import Manifest

    for key, value in daily_lake.dbt_env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("DBT_LOG_PATH", str(tmp_path / "logs"))
    project = ["--project-dir", str(PROJECT_ROOT), "--profiles-dir", str(PROJECT_ROOT)]
    target = ["--target-path", str(target_from(saved_parse, tmp_path).parent)]
    parsed = dbtRunner().invoke(["parse", *project, *target])
    assert parsed.success and isinstance(parsed.result, Manifest), parsed.exception
    runner = dbtRunner(manifest=parsed.result)

    def listed(*args: str) -> list[str]:
        result = runner.invoke(["ls", *args, "--output", "name", "--quiet", *project, *target])
        assert result.success and isinstance(result.result, list), result.exception
        return sorted(result.result)

    def models(selector: str) -> list[str]:
        return listed("--selector", selector, "--resource-type", "model", "seed")

    production = [
        "bronze_klines",
        "gold_feature_store",
        "gold_features",
        "gold_ml_features",
        "gold_ml_labels",
        "gold_ml_models",
        "gold_ml_predictions",
        "gold_recursive_indicators",
        "gold_signals_bollinger_reversion",
        "gold_signals_donchian_breakout",
        "gold_signals_ml_lightgbm",
        "gold_signals_smart_momentum",
        "gold_strategy_scorecard",
        "silver_api_revisions",
        "silver_kline_gaps",
        "silver_klines",
        "silver_quality",
        "silver_universe",
        "strategies",
        "universe",
    ]
    experimental = [
        "gold_features_test_momentum_score",
        "gold_features_test_mtf_confluence",
        "gold_features_test_vol_adjusted_rsi",
    ]
    assert models("daily") == production
    assert models("full") == sorted(production + experimental)
    assert models("silver") == [
        "bronze_klines",
        "silver_api_revisions",
        "silver_kline_gaps",
        "silver_klines",
        "silver_quality",
        "silver_universe",
        "universe",
    ]
    assert models("features") == sorted(
        ["gold_feature_store", "gold_features", "gold_recursive_indicators", *experimental]
    )
    assert models("signals") == [
        "gold_signals_bollinger_reversion",
        "gold_signals_donchian_breakout",
        "gold_signals_ml_lightgbm",
        "gold_signals_smart_momentum",
        "strategies",
        "universe",
    ]
    assert models("ml") == [
        "gold_ml_features",
        "gold_ml_labels",
        "gold_ml_models",
        "gold_ml_predictions",
    ]
    names = listed("--selector", "tests_only")
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    data_tests = [n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "test"]
    assert sorted(names) == sorted(data_tests)  # every data test, generic and singular
    assert len(names) > 80 and "silver_klines_latest_ingest_wins" in names
    assert "strategies_have_signal_models" in names


def test_partial_parsing_is_kept_between_commands(daily_lake: Settings, tmp_path: Path) -> None:
    lake = daily_lake.lake_root
    first = run_shell("dbt ls --selector daily", lake, tmp_path, measured=False)
    assert first.returncode == 0
    assert (tmp_path / "target" / "partial_parse.msgpack").is_file()
    second = run_shell("dbt ls --selector signals", lake, tmp_path, measured=False)
    assert second.returncode == 0
    assert "Unable to do partial parsing" not in second.stdout
    assert "Starting full parse" not in second.stdout


def test_dbt_build_on_an_empty_lake_says_nothing_was_ingested(
    saved_parse: Path, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    target_from(saved_parse, tmp_path)
    connect(Settings(lake_root=lake)).close()  # a lake with its catalog, nothing landed
    result = run_shell("dbt build", lake, tmp_path)
    assert result.returncode != 0
    assert (
        "nothing has been ingested into this lake yet (no landing.files manifest; landing zone "
        f"{lake}/landing): land data first"
    ) in result.stdout
    assert "Catalog Error" not in result.stdout
    seeds = run_shell("dbt seed", lake, tmp_path)  # seeds need no landed data
    assert seeds.returncode == 0, seeds.stdout


def test_dbt_docs_on_a_mistyped_lake_creates_nothing(saved_parse: Path, tmp_path: Path) -> None:
    typo = tmp_path / "typo"
    target_from(saved_parse, tmp_path)
    result = run_shell("dbt docs generate", typo, tmp_path)
    assert result.returncode != 0
    assert f"no lake at {typo} (HERMES_LAKE_ROOT): there is no catalog hermes.ducklake" in (
        result.stdout
    )
    assert "Traceback" not in result.stdout
    assert not typo.exists()
