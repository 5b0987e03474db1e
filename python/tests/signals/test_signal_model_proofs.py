"""The proofs every signal model gets, the moment its strategy is registered (no test code).

For each strategy of the registry (``seeds/strategies.csv``), on real data:

* no lookahead: on the two-step lake of :mod:`fixtures.refreshed_lake`, each truncated copy
  of a 4h series (>= 20 cut points, among them the bars around exchange outages) decides its
  last bar exactly as the full series does;
* incremental = full rebuild: the refreshed lake's signals equal a lake built at once;
* one row per (symbol, interval, open_time), and one for every bar of the feature store;
* the model's compiled SQL, evaluated in process at the built parameters, equals its table
  (the evaluation reads only the requested series, so windowed sums may differ from the
  table's in the last bits; decisions must be identical).

Decisions (booleans) must be identical; indicator values built on DuckDB's windowed sums
may differ in the last bits between series layouts (see ``test_feature_refresh``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fixtures.lake_reads import read_frame

from hermes.config import Settings
from hermes.dbt_runner import run_dbt
from hermes.lake import connect
from hermes.signals.models import compiled_sql, open_model, read_signals
from hermes.signals.registry import list_strategies, load_strategy, signal_model

STRATEGIES = [s.strategy_id for s in list_strategies()]
VALUES_RTOL = 1e-12


def _signals(settings: Settings, strategy_id: str, where: str = "true") -> pd.DataFrame:
    """The model's rows, without ``ingested_at`` (when the candle landed: the incremental
    builds' cursor, not a decision; it differs between lakes and truncated copies)."""
    table = signal_model(strategy_id)
    return read_frame(
        settings,
        f"select * from {table} where {where} order by symbol, interval, open_time",  # noqa: S608
    ).drop(columns=["ingested_at"], errors="ignore")


def _assert_same(actual: pd.DataFrame, expected: pd.DataFrame, what: str) -> None:
    assert list(actual.columns) == list(expected.columns), what
    assert len(actual) == len(expected), what
    for column in actual.columns:
        a, e = actual[column].reset_index(drop=True), expected[column].reset_index(drop=True)
        if pd.api.types.is_float_dtype(e):
            x, y = a.to_numpy(dtype=float), e.to_numpy(dtype=float)
            np.testing.assert_array_equal(np.isnan(x), np.isnan(y), err_msg=f"{what} {column}")
            np.testing.assert_allclose(x, y, rtol=VALUES_RTOL, err_msg=f"{what} {column}")
        else:
            pd.testing.assert_series_equal(a, e, check_names=False, obj=f"{what} {column}")


def test_every_registered_strategy_is_covered() -> None:
    assert {"smart_momentum", "donchian_breakout", "bollinger_reversion"} <= set(STRATEGIES)


@pytest.mark.parametrize("strategy_id", STRATEGIES)
def test_no_signal_looks_ahead(refreshed_lake: tuple[Settings, dict], strategy_id: str) -> None:
    settings, info = refreshed_lake
    cuts: dict[str, tuple[str, str]] = info["cuts"]
    assert len(cuts) >= 20
    signals = _signals(settings, strategy_id, "interval = '4h'")
    compared = 0
    for cut_symbol, (symbol, t) in cuts.items():
        truncated = signals[signals.symbol == cut_symbol]
        assert truncated.iloc[-1]["open_time"] == pd.Timestamp(t)
        full = signals[(signals.symbol == symbol) & (signals.open_time <= pd.Timestamp(t))]
        columns = [c for c in signals.columns if c != "symbol"]
        _assert_same(truncated[columns], full[columns], f"{strategy_id} {cut_symbol} at {t}")
        compared += len(truncated)
    assert compared > 100_000


@pytest.mark.parametrize("strategy_id", STRATEGIES)
def test_incremental_signals_equal_a_full_rebuild(
    refreshed_lake: tuple[Settings, dict], built_lake: Settings, strategy_id: str
) -> None:
    settings, _info = refreshed_lake
    where = "symbol in ('BTCUSDT', 'ETHUSDT')"
    incremental = _signals(settings, strategy_id, where)
    full = _signals(built_lake, strategy_id, where)
    assert len(full) > 40_000 and full.buy_signal.sum() > 0 and full.sell_signal.sum() > 0
    _assert_same(incremental, full, strategy_id)


def test_incremental_builds_record_the_full_build_sql(
    refreshed_lake: tuple[Settings, dict], built_lake: Settings
) -> None:
    """Both builds of the refreshed lake (full, then incremental) recorded one SQL per
    strategy, the full build's: the one a lake built at once records, no incremental part."""
    query = (
        "select strategy_id, list(distinct sql_hash), bool_or(compiled_sql like '%hermes:%') "
        "from hermes_signal_models group by all order by all"
    )
    refreshed, full = read_frame(refreshed_lake[0], query), read_frame(built_lake, query)
    assert sorted(refreshed.strategy_id) == sorted(STRATEGIES)
    for one in (refreshed, full):
        assert one.iloc[:, 1].map(len).tolist() == [1] * len(STRATEGIES)
        assert not one.iloc[:, 2].any()
    assert refreshed.iloc[:, 1].map(tuple).tolist() == full.iloc[:, 1].map(tuple).tolist()


def test_changed_parameters_or_sql_rebuild_every_bar(
    built_lake_copy: Settings, tmp_path: Path
) -> None:
    """An incremental build with nothing new still decides every bar again when the
    registry's parameters changed (the model builds in full) or the model's SQL did (the
    post-hook rebuilds it): the table then equals a full rebuild, one parameter set."""
    settings, target = built_lake_copy, tmp_path / "target"
    donchian, ml = signal_model("donchian_breakout"), signal_model("ml_lightgbm")
    other = {"strategy_parameters": {"donchian_breakout": {"entry_period": 30}}, "ml_horizon": 3}
    query = "select * from {} order by symbol, interval, open_time"
    before = {t: _frame(settings, query.format(t)) for t in (donchian, ml)}
    run_dbt(["run", "--select", donchian, ml], settings, target_path=target, vars=other)
    rebuilt = {t: _frame(settings, query.format(t)) for t in (donchian, ml)}
    run_dbt(["run", "--full-refresh", "--select", donchian, ml], settings, target_path=target,
            vars=other)  # fmt: skip
    for table in (donchian, ml):
        full = _frame(settings, query.format(table))
        assert len(full) == len(before[table]) > 40_000
        assert not full.equals(before[table]), table  # the parameters change the decisions
        _assert_same(rebuilt[table], full, table)
    assert rebuilt[donchian].parameters.nunique() == 1
    assert '"entry_period":30' in rebuilt[donchian].parameters.iloc[0].replace(" ", "")


def _frame(settings: Settings, sql: str) -> pd.DataFrame:
    return read_frame(settings, sql).drop(columns=["ingested_at"], errors="ignore")


@pytest.mark.parametrize("strategy_id", STRATEGIES)
def test_one_signal_row_per_bar(built_lake: Settings, strategy_id: str) -> None:
    table = signal_model(strategy_id)
    (checks,) = read_frame(
        built_lake,
        f"""
        select
            (select count(*) - count(distinct (symbol, interval, open_time)) from {table}),
            (select count(*) from gold_feature_store f anti join {table} s
                using (symbol, interval, open_time)),
            (select count(*) from {table} s anti join gold_feature_store f
                using (symbol, interval, open_time)),
            (select count(*) from {table} where buy_signal is null or sell_signal is null)
        """,  # noqa: S608 (validated model name)
    ).itertuples(index=False)
    assert tuple(checks) == (0, 0, 0, 0)


@pytest.mark.parametrize("strategy_id", STRATEGIES)
def test_compiled_sql_in_process_equals_the_table(built_lake: Settings, strategy_id: str) -> None:
    conn = connect(built_lake)
    try:
        strategy = load_strategy(strategy_id, conn=conn)
        model = open_model(conn, strategy)
        sql = compiled_sql(conn, strategy)
        for symbol, interval in conn.execute(
            f"select distinct symbol, interval from {model.table} order by all"  # noqa: S608
        ).fetchall():
            times = (
                conn.execute(
                    "select open_time from gold_feature_store where symbol = ? and interval = ? "
                    "order by open_time",
                    [symbol, interval],
                )
                .fetchnumpy()["open_time"]
                .astype("datetime64[us]")
            )
            table = read_signals(conn, model, times, symbol, interval)
            again = read_signals(
                conn, model, times, symbol, interval, sql=sql, parameters=model.built_parameters
            )
            assert table.keys() == again.keys()
            for name, values in table.items():
                if values.dtype == bool:
                    np.testing.assert_array_equal(again[name], values, err_msg=f"{symbol} {name}")
                else:  # windowed sums of one series vs all: the last bits may differ
                    np.testing.assert_allclose(again[name], values, rtol=VALUES_RTOL)
    finally:
        conn.close()
