"""The live store: one file per step holding every series' candles, read back per series."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import pyarrow.parquet as pq
from live_helpers import STEP_MS

from hermes.config import Settings
from hermes.live.client import Candle
from hermes.live.fake_exchange import load_bundled
from hermes.live.store import LiveStore, _parquet, candles_table

BTC, ETH = ("BTCUSDT", "4h"), ("ETHUSDT", "4h")


def _candles(key: tuple[str, str], count: int) -> list[Candle]:
    """The last ``count`` bundled candles of a series, as the API gives them."""
    data = load_bundled(*key)
    out = []
    for t, row in zip(data.open_time[-count:], data.ohlcv[-count:], strict=True):
        o, h, low, c, v = (float(x) for x in row)
        out.append(Candle(int(t), o, h, low, c, v, int(t) + STEP_MS - 1, 0.0, 0, 0.0, 0.0))
    return out


def test_a_step_is_one_file_read_back_per_series(tmp_path: Path) -> None:
    store = LiveStore(Settings(lake_root=tmp_path))
    btc, eth = _candles(BTC, 5), _candles(ETH, 5)
    store.save_candles([(BTC, btc[:3]), (ETH, eth[:2]), (("SOLUSDT", "4h"), [])])
    store.save_candles([(BTC, btc[3:]), (ETH, eth[2:])])
    revised = replace(eth[4], close=eth[4].close + 1.0)
    store.save_candles([(ETH, [revised])])  # a later file's candle wins
    files = sorted((tmp_path / "live" / "candles").iterdir())
    assert len(files) == 3
    first, last = btc[0].open_time, btc[2].open_time
    assert files[0].name.endswith(f"-{first}-{last}.parquet")
    assert pq.read_table(files[0]).num_rows == 5
    assert store.candles(BTC) == btc
    assert store.candles(ETH) == [*eth[:4], revised]
    assert store.candles(BTC, after=btc[2].open_time) == btc[3:]
    both = store.candles_of({BTC: btc[3].open_time, ETH: None, ("SOLUSDT", "4h"): None})
    assert both == {BTC: btc[4:], ETH: [*eth[:4], revised]}
    assert store.candles_of({BTC: btc[4].open_time}) == {}
    store.save_candles([])
    assert len(list((tmp_path / "live" / "candles").iterdir())) == 3


def test_a_file_of_the_per_series_layout_is_still_read(tmp_path: Path) -> None:
    store = LiveStore(Settings(lake_root=tmp_path))
    btc = _candles(BTC, 3)
    folder = tmp_path / "live" / "candles" / "BTCUSDT" / "4h"
    folder.mkdir(parents=True)
    name = f"{btc[0].open_time}-{btc[-1].open_time}.parquet"
    (folder / name).write_bytes(_parquet(candles_table(btc)))
    store.save_candles([(ETH, _candles(ETH, 1))])
    assert store.candles(BTC) == btc
    assert pq.read_table(io.BytesIO((folder / name).read_bytes())).num_rows == 3
