"""Smoke tests of the benchmark code at tiny sizes (the benchmark itself is `make bench`)."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench import report
from bench.compare import smart_momentum_flags
from bench.measure import Runner, StageError, spread, summarise
from bench.synthetic import SyntheticSpec, daily_archive, generate
from hermes.config import Settings

Archives = tuple[Path, list[Path]]
TINY = SyntheticSpec(symbols=2, first_month="2024-12", last_month="2025-01", interval="4h")


@pytest.fixture(scope="module")
def tiny_archives(tmp_path_factory: pytest.TempPathFactory) -> Archives:
    root = tmp_path_factory.mktemp("synthetic")
    return root / TINY.key, generate(TINY, root)


def _rows(path: Path) -> list[list[str]]:
    with zipfile.ZipFile(path) as zf:
        (member,) = zf.namelist()
        assert member == path.name.replace(".zip", ".csv")
        return [line.split(",") for line in zf.read(member).decode().splitlines()]


def test_archives_follow_the_binance_layout_and_are_labelled_synthetic(
    tiny_archives: Archives,
) -> None:
    root, paths = tiny_archives
    names = [p.relative_to(root).as_posix() for p in paths]
    assert names == [
        "binance/spot/monthly/klines/SYN001USDT/4h/SYN001USDT-4h-2024-12.zip",
        "binance/spot/monthly/klines/SYN001USDT/4h/SYN001USDT-4h-2025-01.zip",
        "binance/spot/monthly/klines/SYN002USDT/4h/SYN002USDT-4h-2024-12.zip",
        "binance/spot/monthly/klines/SYN002USDT/4h/SYN002USDT-4h-2025-01.zip",
    ]
    assert '"synthetic": true' in (root / "spec.json").read_text()
    for path in paths:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert Path(f"{path}.CHECKSUM").read_text() == f"{digest}  {path.name}\n"


def test_rows_are_well_formed_candles_with_binance_time_units(tiny_archives: Archives) -> None:
    _root, paths = tiny_archives
    december, january = _rows(paths[0]), _rows(paths[1])
    assert len(december) == 31 * 6 and len(january) == 31 * 6
    assert all(len(row) == 12 for row in december + january)
    # epoch milliseconds until 2024-12-31, microseconds from 2025-01-01
    assert december[0][0] == "1733011200000" and december[0][6] == "1733025599999"
    assert january[0][0] == "1735689600000000" and january[0][6] == "1735703999999999"
    values = np.array([[float(v) for v in row[1:6]] for row in december + january])
    o, h, lo, c, v = values.T
    assert np.all(h >= np.maximum(o, c)) and np.all(lo <= np.minimum(o, c))
    assert np.all(v >= 0) and np.all(lo > 0)
    np.testing.assert_array_equal(o[1:], c[:-1])  # each candle opens at the previous close
    assert december[0][1].split(".")[1].__len__() == 8  # Binance prints 8 decimals


def test_generation_is_seeded_and_reproducible(tiny_archives: Archives, tmp_path: Path) -> None:
    _root, paths = tiny_archives
    again = generate(TINY, tmp_path)
    assert [p.read_bytes() for p in again] == [p.read_bytes() for p in paths]
    other = generate(SyntheticSpec(2, "2024-12", "2025-01", "4h", seed=1), tmp_path)
    assert other[0].read_bytes() != paths[0].read_bytes()


def test_daily_archive_continues_the_monthly_price_path(
    tiny_archives: Archives, tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    _root, paths = tiny_archives
    day = daily_archive(TINY, 1, datetime(2025, 2, 1, tzinfo=UTC), tmp_path)
    assert day.name == "SYN001USDT-4h-2025-02-01.zip"
    first = _rows(day)[0]
    assert first[0] == "1738368000000000"
    assert first[1] == _rows(paths[1])[-1][4]  # opens at January's last close


def test_ingest_accepts_the_synthetic_archives(
    tiny_archives: Archives, lake_settings: Settings
) -> None:
    from hermes.ingest import ingest_paths

    _root, paths = tiny_archives
    result = ingest_paths(paths, lake_settings)
    assert result.ok
    assert result.rows_ingested == TINY.rows == 2 * 62 * 6
    from hermes.ingest.decode import decode_kline_archive
    from hermes.ingest.layout import ArchiveName

    decoded = decode_kline_archive(paths[1].read_bytes(), ArchiveName.parse(paths[1].name))
    assert decoded.num_rows == 186
    assert decoded.column("time_unit")[0].as_py() == "us"


def test_notebook_baseline_flags_match_the_smart_momentum_rule() -> None:
    from hermes.signals import smart_momentum

    rng = np.random.default_rng(3)
    n = 400
    t = np.arange(n, dtype=float)
    fast = np.sin(t / 3) + rng.normal(0, 0.1, n)
    slow = np.sin(t / 3 - 1)
    fast[:11], slow[:25] = np.nan, np.nan
    rsi = rng.uniform(40, 60, n)
    rsi[:14] = np.nan
    direction = np.where(rng.random(n) > 0.3, 1.0, -1.0)
    direction[:10] = np.nan
    params = {"ema_fast": 12, "ema_slow": 26, "rsi_period": 14, "rsi_low": 45.0,
              "rsi_high": 55.0, "st_period": 10, "st_multiplier": 3.0}  # fmt: skip
    frame = pd.DataFrame(
        {
            "symbol": "SYN001USDT",
            "interval": "1m",
            "open_time": np.arange(n),
            "ema_12": fast,
            "ema_26": slow,
            "rsi_14": rsi,
            "supertrend_dir_10_3": pd.array(
                [None if np.isnan(d) else int(d) for d in direction], dtype="Int64"
            ),
        }
    )
    ours = smart_momentum_flags(frame, params)
    inputs = {"ema_fast": fast, "ema_slow": slow, "rsi": rsi, "st_dir": direction}
    expected = smart_momentum.generate(inputs, params)
    for flag in ("ema_cross", "rsi_neutral", "st_bullish", "st_exit", "buy_signal", "sell_signal"):
        np.testing.assert_array_equal(ours[flag].to_numpy(dtype=bool), expected[flag], flag)
    assert expected["sell_signal"].sum() > 0 and expected["buy_signal"].sum() > 0


def test_summaries_give_median_min_max_and_throughput() -> None:
    runs = [
        {"seconds": 2.0, "rows": 100, "peak_rss_mb": 50.0, "trades": 3},
        {"seconds": 4.0, "rows": 100, "peak_rss_mb": 70.0, "trades": 3},
        {"seconds": 1.0, "rows": 100, "peak_rss_mb": 60.0, "trades": 3},
    ]
    figure = summarise(runs)
    assert figure["seconds"] == {"median": 2.0, "min": 1.0, "max": 4.0, "n": 3}
    assert figure["rows_per_second"] == {"median": 50.0, "min": 25.0, "max": 100.0, "n": 3}
    assert figure["peak_rss_mb"]["max"] == 70.0
    assert figure["trades"] == 3
    assert spread([5.0]) == {"median": 5.0, "min": 5.0, "max": 5.0, "n": 1}


def test_runner_measures_in_a_subprocess_and_reports_failures(tmp_path: Path) -> None:
    runner = Runner(log_dir=tmp_path)
    result = runner.once("bench.measure:spread", values=[1.0, 3.0, 2.0])
    assert result["median"] == 2.0 and result["peak_rss_mb"] > 10
    with pytest.raises(StageError, match="^AttributeError: .*not_a_function.* \\(exit 1; log "):
        runner.once("bench.measure:not_a_function")


def test_goals_compare_measured_figures_with_targets() -> None:
    results = {
        "sizes": {
            "1M": {
                "data": {"rows": 1_000_000},
                "stages": {
                    "features": {
                        "status": "ok",
                        "rows_per_second": {"median": 2e6},
                        "peak_rss_mb": {"max": 5000.0},
                    },
                    "signals": {"status": "not available", "reason": "model not found"},
                },
            }
        },
        "backtest": {"seconds": {"median": 0.05}, "cold_seconds": {"median": 7.0}},
    }
    by_goal = {g["goal"]: g for g in report.goals(results)}
    assert by_goal["feature layer, end to end (1M)"]["met"] is True
    assert by_goal["signals, dbt model, end to end (1M)"]["met"] is None
    assert by_goal["warm 8-year 4h backtest"]["met"] is True
    assert by_goal["cold backtest (fresh process)"]["met"] is False
    # the signals stage did not run: the build's peak is not measured (one of it would be low)
    assert by_goal["peak memory of the 1M build"]["measured"] is None
    rows = report.goal_table({"goals": list(by_goal.values())}).splitlines()[2:]
    assert len(rows) == len(by_goal) == len(report.GOALS) - 5  # 5 optional, not measured
    assert rows[0] == "| feature layer, end to end (1M) | ≥ 1e+06 rows/s | 2e+06 rows/s | yes |"
    assert rows[1].endswith("| not measured | – |")


def test_plain_recompute_makes_the_daily_jobs_trades(tmp_path: Path) -> None:
    from bench.compare import plain_recompute

    result = plain_recompute(str(tmp_path))
    # the closed trades of `hermes run`'s six next-open 4h backtests on the bundled data
    # (`select strategy_id, symbol, trades from published.gold_backtest_runs`)
    assert result["trades"] == {
        "smart_momentum BTCUSDT": 29, "donchian_breakout BTCUSDT": 240,
        "bollinger_reversion BTCUSDT": 137, "smart_momentum ETHUSDT": 24,
        "donchian_breakout ETHUSDT": 256, "bollinger_reversion ETHUSDT": 128,
    }  # fmt: skip
    assert result["rows"] == 42_872
    assert sorted(p.name for p in tmp_path.glob("*.parquet")) == [
        "BTCUSDT_1d.parquet", "BTCUSDT_4h.parquet", "ETHUSDT_1d.parquet", "ETHUSDT_4h.parquet",
    ]  # fmt: skip


def _lines(key: str, results: dict[str, object]) -> list[str]:
    """The RESULTS.md part whose figure is at ``key`` (the backtest list for ``""``)."""
    sections = report.SECTIONS
    section = next(
        s for s in sections if s.get("key", "") == key and (key or "Backtests" in s["title"])
    )
    return report.lines(section, results)


def test_daily_job_rows_and_goals() -> None:
    def figure(seconds: list[float], **extra: object) -> dict[str, object]:
        return {**summarise([{"seconds": s, "peak_rss_mb": 100.0} for s in seconds]), **extra}

    job = {
        "status": "ok",
        "plain": figure([4.0, 4.2], trades={"BTCUSDT": 29}),
        "no_op": figure([1.0, 1.2], ratio_to_plain=0.25, hermes_peak_rss_mb=240.0),
        "one_candle": figure([30.0], ratio_to_plain=7.5, steps={"dbt build": 12.5}),
        "quality_full": figure([3.0], quality_rss_mb=120.0, rows=42_872, expectations=100),
        "backfill_missing": figure([4.0]),
    }
    lines = _lines("daily_job", {"daily_job": job})
    assert "| nothing new | 1.10 s (1.00 s – 1.20 s) | 0.25x | 240 |  |  |" in lines
    assert "| plain recompute script | 4.10 s (4.00 s – 4.20 s) |  | 100 |  |  |" in lines
    assert any(
        line.startswith("| one new 4h candle") and "dbt build 12.5" in line for line in lines
    )
    assert "| every partition | 42,872 | 100 | 3.00 s | 120 MB |" in lines
    goals = {g["goal"]: g for g in report.goals({"daily_job": job})}
    assert goals["daily job, no-op `hermes run`"]["met"] is True
    assert goals["daily job, no-op vs plain recompute"]["met"] is False
    assert goals["quality step peak memory (bundled, above imports)"]["measured"] == 120.0


def test_ml_walk_forward_goals_and_line() -> None:
    spread = {"n": 3, "min": 17.0}
    ml = {
        "status": "ok",
        "rows": 36_742,
        "seconds": {**spread, "median": 18.2, "max": 24.2},
        "model_seconds": {**spread, "median": 15.0, "max": 18.1},
        "peak_rss_mb": {"n": 3, "median": 473.0, "min": 472.0, "max": 1200.0},
    }
    goals = {g["goal"]: g for g in report.goals({"ml": ml})}
    assert goals["ML walk-forward, 2 x 8 years of 4h (train + predict)"]["met"] is True
    memory = goals["ML walk-forward peak memory"]
    assert memory["measured"] == pytest.approx(1200 / 1024) and memory["met"] is False
    (line,) = [x for x in _lines("", {"ml": ml}) if x.startswith("- ML walk-forward")]
    assert "36,742 bars" in line and "18.20 s (17.00 s – 24.20 s) end to end" in line
    assert "peak memory 473 MB (472 MB – 1200 MB)" in line


def test_universe_line_and_goals() -> None:
    universe = {
        "status": "ok",
        "symbols": 200,
        "series": 400,
        "months": "2024-01..2025-12",
        "plain": summarise([{"seconds": 8.0, "peak_rss_mb": 400.0}]),
        "seconds": 42.0,
        "new_day": {
            "ingest_seconds": 2.0,
            "run_seconds": 40.0,
            "peak_rss_mb": 2048.0,
            "steps": {"backtests": 3.5},
        },
        "no_op": {"seconds": 1.5, "peak_rss_mb": 150.0},
        "growth_bytes": {"total": 5_000_000, "parquet": 3_000_000, "pages": 1_500_000},
        "new_pages": 3,
        "largest_page_bytes": 600_000,
    }
    (line,) = [s for s in _lines("universe", {"universe": universe}) if s[:3] == "400"]
    assert "`hermes run` 40.0 s, peak 2048 MB; steps: backtests 3.5 s)" in line
    assert "nothing new 1.50 s" in line
    assert "1.5 MB of 3 new pages; largest page 0.60 MB" in line
    goals = {g["goal"]: g for g in report.goals({"universe": universe})}
    label = "200 synthetic symbols x (4h, 1d)"
    assert goals[f"one new day, {label}"]["met"] is True
    assert goals[f"one new day peak memory, {label}"]["met"] is False  # 2 GB > 1.5 GB
    assert goals[f"nothing new, {label}"]["met"] is True
    assert goals["tearsheet page"]["measured"] == 0.6
    real = universe | {"series": 40, "ratio_to_plain": 10.5}
    (line,) = [s for s in _lines("real_universe", {"real_universe": real}) if "series" in s]
    assert "(40 series)" in line and "8.00 s; one new day costs 10.5x that" in line
    goals = {g["goal"]: g for g in report.goals({"real_universe": real})}
    assert goals["one new day, the 20 real symbols (4h, 1d), vs the plain script"]["met"] is False
    assert goals["nothing new, the 20 real symbols"]["met"] is True


def test_the_real_universe_splits_off_the_last_day(tmp_path: Path) -> None:
    import gzip

    from bench.lakes import split_day
    from bench.stages.daily_job import REAL, REAL_FILES

    history, new = split_day(REAL_FILES, "2026-01-06", tmp_path, new_of=REAL[0]), tmp_path / "new"
    assert len(history) == 41
    # every pair still listed has its 2026-01-06 candles as the new day; BTCUSDT and ETHUSDT
    # come whole from the bundled files, the delisted MATICUSDT and XMRUSDT have none
    assert len(list(new.iterdir())) == 33 and not list(new.glob("BTCUSDT*"))
    assert not list(new.glob("MATICUSDT*")) and not list(new.glob("XMRUSDT*"))
    day = gzip.decompress((new / "ADAUSDT_4h.csv.gz").read_bytes()).decode().splitlines()
    assert [row[:19] for row in day[1:]] == [f"2026-01-06 {h:02d}:00:00" for h in (0, 4, 8, 12)]
    original = gzip.decompress((REAL[0] / "ADAUSDT_4h.csv.gz").read_bytes()).decode()
    assert (tmp_path / "history" / "ADAUSDT_4h.csv").read_text().splitlines() + day[
        1:
    ] == original.splitlines()


def test_daily_job_stage_helpers_on_the_bundled_lake(built_lake: Settings, tmp_path: Path) -> None:
    from bench.stages.daily_job import _one_new_candle, quality, steps

    every = quality(str(tmp_path / "lake"), str(built_lake.lake_root))
    # silver and gold rows of all four bundled series
    assert every["rows"] == 85_744
    assert every["failed"] == 0 and every["expectations"] > 50
    csv = _one_new_candle(tmp_path / "lake")
    header, row = csv.read_text().splitlines()
    assert header == "timestamp,open,high,low,close,volume"
    assert row.startswith("2026-01-06 ") and row.endswith(",123.456")
    assert steps("x\n  seconds: ingest 1.3, dbt build 21.9\n") == {
        "ingest": 1.3,
        "dbt build": 21.9,
    }


def test_only_takes_exact_stage_names(capsys: pytest.CaptureFixture[str]) -> None:
    from bench.__main__ import parse_args

    plan = parse_args(["--quick", "--only", "universe"])
    assert plan.wants("universe") and not plan.wants("universe.real")
    assert not plan.wants("live") and not plan.wants_sizes()
    plan = parse_args(["--only", "compare.notebook,universe.real"])
    names = ("compare.notebook", "universe.real", "universe", "backtest")
    assert [n for n in names if plan.wants(n)] == ["compare.notebook", "universe.real"]
    assert plan.wants_sizes()  # the notebook comparison reads the pipeline's data sets
    with pytest.raises(SystemExit):
        parse_args(["--only", "univers,live"])
    assert "--only: unknown stage(s) univers; see --help" in capsys.readouterr().err


def test_a_second_bench_on_the_same_work_folder_stops_with_one_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    from bench.__main__ import lock
    from hermes.config import PROJECT_ROOT

    held = lock(tmp_path)
    command = [sys.executable, "-m", "bench", "--quick", "--only", "live", "--work", str(tmp_path)]
    proc = subprocess.run([*command, "--out", str(tmp_path / "out")], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == f"python -m bench: another bench is running on {tmp_path}\n"
    assert not (tmp_path / "out").exists() and not (tmp_path / "logs").exists()
    held.close()
    lock(tmp_path).close()  # free again once the holder is gone


def test_data_sets_line_lists_the_symbols() -> None:
    data = {"rows": 10, "symbols": ["SYN001USDT", "...", "SYN010USDT"], "interval": "1m",
            "months": "2024-01..2025-12", "archives": 240, "archive_mb": 706.8}  # fmt: skip
    line = report.FIELDS["data_sets"]({"sizes": {"10M": {"data": data}}}, None)["data_sets"]
    assert line == (
        "- 10M: 10 synthetic rows (SYN001USDT, ..., SYN010USDT; 1m; 2024-01..2025-12), "
        "240 monthly archives (706.8 MB zipped)"
    )


def test_a_build_cut_short_has_no_build_peak() -> None:
    stage = {"status": "ok", "peak_rss_mb": {"max": 400.0}}
    size = {"data": {"rows": 10}, "stages": {"ingest": stage, "bronze": {"status": "skipped"}}}
    whole = {"data": {"rows": 1}, "stages": {"ingest": stage, "bronze": stage}}
    assert report.READERS["build_peak"]({"sizes": {"10M": size, "1M": whole}}, "") is None
    assert report.READERS["build_peak"]({"sizes": {"1M": whole}}, "") == 400.0
