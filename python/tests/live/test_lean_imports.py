"""The live process imports only what it uses: the ingest package's decoders (polars) and the
batch's heavy libraries stay out of it until something calls them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import hermes.ingest
from hermes.config import Settings
from hermes.ingest.local_files import ingest_paths

LIVE_STEPS = """
import json, sys
from pathlib import Path
from hermes.config import Settings
from hermes.live.client import KlinesClient
from hermes.live.engine import LiveEngine, utc
from hermes.live.fake_exchange import FakeExchange, ManualClock, load_bundled

lake, out, sql = sys.argv[1:4]
series = {(s, "4h"): load_bundled(s, "4h") for s in ("BTCUSDT", "ETHUSDT")}
step = 4 * 3600 * 1000
first = int(series[("BTCUSDT", "4h")].open_time[-1]) - 3 * step
clock = ManualClock(first)
with FakeExchange(series, clock) as exchange:
    client = KlinesClient(exchange.url)
    engine = LiveEngine(
        Settings(lake_root=Path(lake)), client, series=list(series), sync=False,
        until=utc(first), features_sql=json.loads(Path(sql).read_text()),
        output=Settings(lake_root=Path(out)),
    )
    rows = 0
    for open_ms in range(first, first + 4 * step, step):
        clock.set(open_ms + step)
        report = engine.step()
        assert not report.alerts, report.alerts
        rows += sum(ledger.equity.num_rows for ledger in report.ledgers)
    client.close()
heavy = ("vectorbt", "sklearn", "scipy.stats", "polars")
print(json.dumps({"ledger_rows": rows, "loaded": sorted(m for m in heavy if m in sys.modules)}))
"""


def test_live_engine_import_leaves_decoders_and_batch_libraries_out() -> None:
    code = (
        "import sys, hermes.live.engine, hermes.live.replay; "
        "print(sorted(m for m in ('polars', 'vectorbt', 'pandas', 'dbt', 'prefect', "
        "'hermes.ingest.csv_import', 'hermes.ingest.download') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "[]"


def test_ingest_package_names_resolve_on_first_use() -> None:
    assert hermes.ingest.ingest_paths is ingest_paths
    for name in hermes.ingest.__all__:
        assert getattr(hermes.ingest, name) is not None
    with pytest.raises(AttributeError, match="has no attribute 'land_everything'"):
        _ = hermes.ingest.land_everything


def test_live_steps_extending_ledgers_leave_vectorbt_out(
    built_lake: Settings, features_sql: dict[str, str], tmp_path: Path
) -> None:
    """Four bar closes through the live path (fake exchange), the paper ledgers started and
    extended on each (:mod:`hermes.backtest.fills`): no vectorbt, scikit-learn, SciPy's
    statistics nor polars in the process. (pandas is still imported: DuckDB and pyarrow
    import it themselves when a query binds parameters or a table is registered; numba
    imports SciPy's top-level package, not its modules.)"""
    sql = tmp_path / "features_sql.json"
    sql.write_text(json.dumps(features_sql))
    done = subprocess.run(
        [sys.executable, "-c", LIVE_STEPS, str(built_lake.lake_root), str(tmp_path / "out"),
         str(sql)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["ledger_rows"] > 0  # ledgers were computed and extended
    assert result["loaded"] == []
