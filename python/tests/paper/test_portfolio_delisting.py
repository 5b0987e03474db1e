"""A shared-capital portfolio holding a delisted pair sells it at its last close and goes on.

Real data: MATICUSDT 4h (retired 2024-09-10) and ADAUSDT 4h (`data/universe/`), MATICUSDT's
last 400 candles and ADAUSDT's over the same days and ten more, ingested into a lake of the
module's own (only the models donchian_breakout's signals need are built). donchian_breakout
as one portfolio of both buys MATICUSDT at the 2024-09-09 20:00 open and still holds it when
the pair is delisted: the sale is decided on its last bar (2024-09-10 00:00) and fills at that
bar's close (0.3794, less slippage) on the portfolio's next bar; ADAUSDT trades on.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest
from fixtures.paper_ledger import (
    donchian_lake,
    donchian_paper_row,
    midnight,
    refresh_on,
    use_registry,
    verified_together,
)

from hermes.config import PROJECT_ROOT, Settings
from hermes.lake import connect, pinned
from hermes.paper import deactivation
from hermes.paper import ledger as ledger_module
from hermes.paper.series import DELISTED
from hermes.signals.registry import Strategy

UNIVERSE = PROJECT_ROOT / "data" / "universe"
LAST_BAR = datetime(2024, 9, 10)  # MATICUSDT's last candle (open time)
LAST_CLOSE = 0.3794
ADA_UNTIL = "2024-09-20"
FEES, SLIPPAGE, CAPITAL = 0.001, 0.0005, 10_000.0
NAME = "ADAUSDT,MATICUSDT"


@pytest.fixture(scope="module")
def two_pairs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """MATICUSDT's last 400 4h candles, ADAUSDT's from the same first one to ``ADA_UNTIL``."""
    base = tmp_path_factory.mktemp("portfolio-delisted")
    header, *matic = gzip.decompress((UNIVERSE / "MATICUSDT_4h.csv.gz").read_bytes()).decode(
    ).splitlines()  # fmt: skip
    first = matic[-400].split(",", 1)[0]
    ada = gzip.decompress((UNIVERSE / "ADAUSDT_4h.csv.gz").read_bytes()).decode().splitlines()
    files = {
        "MATICUSDT": (header, matic[-400:]),
        "ADAUSDT": (header, [r for r in ada[1:] if first <= r.split(",", 1)[0] < ADA_UNTIL]),
    }
    yield donchian_lake(base, files)


def portfolio_row(reader: object) -> Strategy:
    config = {"intervals": ["4h"], "portfolio": True, "fees": FEES, "slippage": SLIPPAGE}
    return donchian_paper_row(reader, config, CAPITAL)


def test_the_portfolio_sells_the_delisted_pair_at_its_last_close_and_trades_on(
    two_pairs: Settings, lake_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pinned(two_pairs) as (reader, snapshot):
        registry = [portfolio_row(reader)]
        use_registry(monkeypatch, registry)
        conn = connect(lake_settings)
        try:
            refresh_on(conn, reader, snapshot, (date(2024, 9, 5), date(2024, 9, 10)))
            key = ("donchian_breakout", "MATICUSDT", "4h")
            stored = deactivation.stored_positions(conn)
            last, held = stored[key]
            assert (last, held > 0) == (datetime(2024, 9, 9, 20), True)  # bought at that open

            # the refreshes after the delisting: sold at the last close, ADAUSDT goes on
            for day in (date(2024, 9, 11), date(2024, 9, 20)):
                found = ledger_module.compute_ledgers(reader, snapshot=snapshot, end=midnight(day))
                done = ledger_module.extend_ledgers(conn, found, snapshot=snapshot)
                assert set(done.added) == {("donchian_breakout", NAME, "4h")}
            orders = conn.execute(
                "select decided_at, filled_at, side, order_type, quantity, fill_price, fees "
                "from gold_paper_orders where symbol = 'MATICUSDT' order by filled_at"
            ).fetchall()
            *_, (decided, filled, side, kind, quantity, price, fees) = orders
            assert (side, kind) == ("sell", DELISTED)
            assert (decided, filled) == (LAST_BAR, LAST_BAR + timedelta(hours=4))
            assert quantity == pytest.approx(held, rel=1e-12)
            assert price == pytest.approx(LAST_CLOSE * (1 - SLIPPAGE), rel=1e-12)
            assert fees == pytest.approx(held * price * FEES, rel=1e-12)
            assert [o for o in orders if o[1] > filled] == []  # nothing traded after it
            positions = deactivation.stored_positions(conn)
            assert positions[key] == (datetime(2024, 9, 19, 20), 0.0)
            assert positions[("donchian_breakout", "ADAUSDT", "4h")][0] == datetime(2024, 9, 19, 20)
            bars = conn.execute(
                "select count(*) from gold_paper_equity where open_time > ?", [LAST_BAR]
            ).fetchall()
            assert bars == [(9 * 6 + 5,)]  # the portfolio carried on to ADAUSDT's last bar
            ada = conn.execute(
                "select count(*) from gold_paper_orders where symbol = 'ADAUSDT' and filled_at > ?",
                [filled],
            ).fetchone()
            assert ada is not None and ada[0] > 0  # and traded ADAUSDT after the sale
            (verdict,) = verified_together(conn, reader, snapshot)
            assert verdict.difference is None, verdict.line
        finally:
            conn.close()
