"""Adding a strategy is a registry row plus one SQL file, as a user does it.

In a copy of the project (the bundled BTCUSDT 4h candles ingested, ``dbt build`` run once): a
CSV row and ``models/gold/signals/gold_signals_sma_cross.sql``, then the commands as a user
types them (``dbt build --select`` of what was added, ``hermes backtest --strategy sma_cross
--report``, ``hermes grid``, ``hermes strategies``), each a real process.
Then strategies that break the contract: each fails ``dbt build`` with one message naming
the strategy, the model and the column, and ``hermes backtest`` refuses it, writing nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fixtures.children import unmeasured
from fixtures.project_copy import BIN, copy_project, run

from hermes.config import PROJECT_ROOT

pytestmark = pytest.mark.untraced  # every line it runs, other files measure (fixtures/children.py)

SMA_CROSS = """
with

features as (

    select symbol, interval, open_time, close, sma_20, sma_50
    from {{ ref('gold_feature_store') }}

),

strategy as (

    {{ strategy_parameters({'band': 'double'}) }}

),

flagged as (

    select
        features.*,
        strategy.strategy_id,
        strategy.strategy_version,
        strategy.parameters,
        features.sma_20 > features.sma_50 * (1 + strategy.band) as above
    from features
    cross join strategy

),

crossed as (

    select
        *,
        coalesce(above and not lag(above) over bars, false) as cross_up,
        coalesce(not above and lag(above) over bars, false) as cross_down
    from flagged
    window bars as (partition by symbol, interval order by open_time)

)

select
    strategy_id, strategy_version, parameters, symbol, interval, open_time, close,
    sma_20, sma_50, cross_up, cross_down, cross_up as buy_signal, cross_down as sell_signal
from crossed
"""
ROW = (
    'sma_cross,SMA Cross,0.1.0,"{""band"": 0.0}","{""band"": [0, 0.2]}",'
    '"Long when SMA 20 crosses above SMA 50 (plus a band), out when it crosses back.",'
    "trend|sma,experimental,,,\n"  # not paper traded: paper_since, capital, config empty
)
BROKEN = {
    # strategy id -> (model SQL, message dbt build prints)
    "null_decision": (
        "select strategy_id, strategy_version, parameters, symbol, interval, open_time, "
        "case when close > sma_20 then true end as buy_signal, false as sell_signal "
        "from {{ ref('gold_feature_store') }} cross join ({{ strategy_parameters({}) }})",
        "signal model gold_signals_null_decision (strategy null_decision): column buy_signal "
        "is NULL on",
    ),
    "two_rows": (
        "select strategy_id, strategy_version, parameters, symbol, interval, open_time, "
        "false as buy_signal, false as sell_signal "
        "from {{ ref('gold_feature_store') }} cross join ({{ strategy_parameters({}) }}) "
        "cross join range(2)",
        "signal model gold_signals_two_rows (strategy two_rows): columns (symbol, interval, "
        "open_time) hold",
    ),
    "no_exit": (
        "select strategy_id, strategy_version, parameters, symbol, interval, open_time, "
        "false as buy_signal "
        "from {{ ref('gold_feature_store') }} cross join ({{ strategy_parameters({}) }})",
        "signal model gold_signals_no_exit (strategy no_exit): column sell_signal is missing",
    ),
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    base = tmp_path_factory.mktemp("add_strategy")
    copy, env = copy_project(base)
    run(
        str(BIN / "hermes"),
        "ingest",
        str(PROJECT_ROOT / "data/binance-ohlcv/BTCUSDT_4h.csv.gz"),
        env=env,
    )
    # the project as cloned, built and tested once: each test then builds what it adds
    assert "ERROR=0" in dbt(copy, env, "build")
    yield copy, env


def dbt(project: Path, env: dict[str, str], *args: str, ok: bool = True) -> str:
    """``dbt <args>`` in the copy; a build expected to succeed runs without coverage's tracer
    (only Hermes code the in-process builds run), one expected to fail measured (the
    registry's and contracts' refusals are reached here)."""
    child_env = unmeasured(env) if ok else env
    done = run(str(BIN / "dbt"), *args, "--project-dir", str(project), env=child_env, ok=ok)
    return done.stdout


def test_a_registry_row_and_one_sql_file_make_a_strategy(
    project: tuple[Path, dict[str, str]],
) -> None:
    folder, env = project
    with open(folder / "seeds" / "strategies.csv", "a", encoding="utf-8") as handle:
        handle.write(ROW)
    (folder / "models/gold/signals/gold_signals_sma_cross.sql").write_text(SMA_CROSS)
    out = dbt(folder, env, "build", "--select", "strategies", "gold_signals_sma_cross")
    assert "strategies_have_signal_models" in out and "ERROR=0" in out
    hermes = str(BIN / "hermes")
    done = run(hermes, "backtest", "--strategy", "sma_cross", "--report", env=env)
    assert "BTCUSDT" in done.stdout and "report:" in done.stdout
    report = Path(done.stdout.split("report:")[-1].split()[0])
    assert report.exists() and "sma_cross" in report.read_text()
    grid = run(hermes, "grid", "--strategy", "sma_cross", "--param", "band=0,0.01,0.02", env=env)
    assert "3 combinations" in grid.stdout.replace("\n", " ")
    listed = run(hermes, "strategies", "--tag", "sma", env=env)
    assert "sma_cross" in listed.stdout and "smart_momentum" not in listed.stdout
    rows = run(
        hermes,
        "sql",
        "--csv",
        "select count(*) > 0, sum(trades) > 0, min(signal_source) from gold_backtest_runs "
        "where strategy_id = 'sma_cross'",
        env=env,
    )
    assert rows.stdout.splitlines()[1] == "True,True,table"
    equity = run(
        hermes,
        "sql",
        "--csv",
        "select count(*) from gold_backtest_equity join gold_backtest_runs using (run_id) "
        "where strategy_id = 'sma_cross'",
        env=env,
    )
    assert int(equity.stdout.splitlines()[1]) == 18371


def test_broken_contracts_fail_naming_the_strategy_and_column(
    project: tuple[Path, dict[str, str]],
) -> None:
    folder, env = project
    registry = folder / "seeds" / "strategies.csv"
    original = registry.read_text()
    rows = "".join(
        f'{sid},{sid},0.1.0,"{{}}","{{}}",broken,test,experimental,,,\n' for sid in BROKEN
    )
    registry.write_text(original + rows)
    for sid, (sql, _message) in BROKEN.items():
        (folder / f"models/gold/signals/gold_signals_{sid}.sql").write_text(sql)
    added = ["strategies", *(f"gold_signals_{sid}" for sid in BROKEN)]
    out = dbt(folder, env, "build", "--select", *added, ok=False).replace("\n  ", " ")
    for _sid, (_sql, message) in BROKEN.items():
        assert message in out, message
    hermes = str(BIN / "hermes")
    before = run(hermes, "sql", "--csv", "select count(*) from gold_backtest_runs", env=env).stdout
    # the post-hook failed inside the model's transaction: no broken table was left behind
    for sid, expected in (
        ("no_exit", "strategy no_exit: signal model gold_signals_no_exit was never built"),
        ("null_decision", "signal model gold_signals_null_decision was never built"),
        ("two_rows", "signal model gold_signals_two_rows was never built"),
        ("nope", "unknown strategy 'nope'"),
        ("Bad-Name", "is not a safe identifier"),
    ):
        done = run(hermes, "backtest", "--strategy", sid, env=env, ok=False)
        assert expected in done.stderr.replace("\n", " "), done.stderr
    after = run(hermes, "sql", "--csv", "select count(*) from gold_backtest_runs", env=env).stdout
    assert after == before
    registry.write_text(original)
    for sid in BROKEN:
        (folder / f"models/gold/signals/gold_signals_{sid}.sql").unlink()


def test_half_strategies_fail_the_build_naming_them(project: tuple[Path, dict[str, str]]) -> None:
    folder, env = project
    registry = folder / "seeds" / "strategies.csv"
    original = registry.read_text()
    registry.write_text(
        original
        + 'no_model,No Model,0.1.0,"{""x"": 1}","{""x"": [0, 1]}",x,test,retired,,,\n'
        + 'bad_range,Bad Range,0.1.0,"{""x"": 5}",'
        + '"{""x"": [0, 1], ""y"": [0, 1]}",x,test,retired,,,\n'
    )
    whole = BROKEN["no_exit"][0].replace(
        "false as buy_signal", "false as buy_signal, false as sell_signal"
    )  # a model that keeps the contract: only the registry is wrong
    for sid in ("bad_range", "no_row"):
        (folder / f"models/gold/signals/gold_signals_{sid}.sql").write_text(whole)
    out = dbt(folder, env, "build", "--select", "strategies", ok=False).replace("\n  ", " ")
    assert (
        "strategies only half defined: no_model: registry row without its model "
        "models/gold/signals/gold_signals_no_model.sql; no_row: signal model gold_signals_no_row "
        "without its row in seeds/strategies.csv"
    ) in out
    assert (
        "strategy parameters of seeds/strategies.csv: bad_range.x: default outside its range; "
        "bad_range.y: range without a parameter"
    ) in out
    done = run(str(BIN / "hermes"), "backtest", "--strategy", "no_model", env=env, ok=False)
    assert "signal model gold_signals_no_model was never built" in done.stderr.replace("\n", " ")


def test_registry_mistakes_stop_dbt_before_any_model(
    project: tuple[Path, dict[str, str]],
) -> None:
    folder, env = project
    registry = folder / "seeds" / "strategies.csv"
    original = registry.read_text()
    line = len(original.splitlines()) + 1
    registry.write_text(
        original + 'x; drop table strategies --,X,0.1.0,"{}","{}",x,test,retired,,,\n'
    )
    try:
        out = dbt(folder, env, "build", ok=False)
    finally:
        registry.write_text(original)
    assert (
        f"{registry} line {line} (strategy 'x; drop table strategies --'): strategy_id "
        "'x; drop table strategies --' is not a safe identifier (lower-case letters, digits and "
        "underscores, starting with a letter, at most 63 characters)"
    ) in out
    assert "registry row without its model" not in out
    assert " OK " not in out  # no seed, model or test ran
