"""The live process's own append-only store, and how it reaches the lake next to the batch.

Why two steps: the local DuckLake catalog is one DuckDB file, and a process that has it
attached for writing locks every other process out (the daily refresh holds it for the
whole ``dbt build``). The live path must not wait for that, and must lose nothing.

1. **Append-only store** ``<lake>/live/`` (only the live process writes it, one file per
   write, each written atomically under a name derived from its content's key, never
   rewritten with other content, never deleted):
   ``candles/<written ns>-<first open ms>-<last open ms>.parquet`` (one file per step: the API
   candles of every series the step landed, as received, in the landing zone's decoded
   format with their symbol and interval; synced to disk once) and ``status.json`` (the
   operator's view). Candles are stored here *before* anything is computed from them: a
   killed process restarts from them.
2. **Lake sync** (:func:`sync_to_lake`): short transactions on the lake, each retried while
   another writer holds the catalog, never blocking a step: what could not be written yet
   stays pending and goes with the next step. Every write is idempotent, so a retry or a
   restart neither loses nor duplicates anything:

   * each day of API candles of a series lands as one landing file
     ``api/<SYMBOL>/<INTERVAL>/<SYMBOL>-<INTERVAL>-<day>`` (provider ``api``): a new version
     replaces the previous one in the manifest (``record_file``), so the batch's next
     ``dbt build`` includes the provisional candles; when the archive of that day lands,
     ``silver_klines`` prefers it whatever the landing order, and ``silver_api_revisions``
     lists every candle where the two differ (a data-quality event: the build's test on it
     warns, and ``hermes live status`` shows the count);
   * ``gold_signal_feed``: the rows of the (strategy, symbol, interval) the step decided are
     replaced in one transaction;
   * paper ledgers: :func:`hermes.paper.ledger.extend_ledgers`, which appends only the bars
     after each ledger's stored last bar and checks the stored ledger against the
     recomputation, in one transaction (whichever of live or batch writes first, the other
     appends nothing for that bar).
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from hermes import storage
from hermes.config import Settings
from hermes.ingest.manifest import ManifestEntry, load_manifest, record_file
from hermes.lake import connect, insert
from hermes.landing import decoded_file, decoded_location, decoded_schema
from hermes.live.client import Candle
from hermes.live.klines import API_PROVIDER, api_source_file
from hermes.live.sources import SeriesKey
from hermes.paper.ledger import extend_ledgers
from hermes.paper.series import SeriesLedger
from hermes.paper.tables import ensure_paper_tables

LOCK_ATTEMPTS = 5
LOCK_WAIT_SECONDS = 0.1


class LakeBusy(RuntimeError):
    """Another process holds the lake's catalog; the sync is retried on the next step."""


def live_root(settings: Settings) -> str:
    return f"{settings.storage_root.rstrip('/')}/live"


def replay_output(settings: Settings) -> Settings:
    """Where a fake-exchange replay writes (its live store and feed files), inside the lake."""
    return Settings(lake_root=Path(settings.lake_root) / "live" / "replay")


CANDLE_FIELDS = [
    "open_time", "open", "high", "low", "close", "volume", "close_time", "quote_asset_volume",
    "number_of_trades", "taker_buy_base_asset_volume", "taker_buy_quote_asset_volume",
]  # fmt: skip
STORE_SCHEMA = pa.schema([("symbol", pa.string()), ("interval", pa.string()), *decoded_schema()])
"""The live store's files: whose candle each row is, then the landing zone's decoded format."""


def candles_table(candles: list[Candle]) -> pa.Table:
    """Candles in the landing zone's decoded format (epoch milliseconds)."""
    return _table([(("", ""), candles)], decoded_schema())


def _table(items: list[tuple[SeriesKey, list[Candle]]], schema: pa.Schema) -> pa.Table:
    """Several series' candles, one row each, with the columns of ``schema``."""
    rows = [(key, c) for key, candles in items for c in candles]
    columns: dict[str, Any] = {
        "symbol": [key[0] for key, _ in rows],
        "interval": [key[1] for key, _ in rows],
        "line_number": list(range(1, len(rows) + 1)),
    }
    columns |= {f: [getattr(c, f) for _, c in rows] for f in CANDLE_FIELDS}
    columns["time_unit"] = ["ms"] * len(rows)
    return pa.Table.from_pydict({f.name: columns[f.name] for f in schema}, schema=schema)


def _parquet(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()


class LiveStore:
    """``<lake>/live/``: the API candles as received, and the status file."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = live_root(settings)

    def save_candles(self, items: list[tuple[SeriesKey, list[Candle]]]) -> None:
        """Store one step's new candles of every series (before anything is computed from
        them): one file, written atomically and synced to disk once, named by when it was
        written (a later file's candle wins over an earlier one's) and the open times it
        spans (a reader skips the files that end before what it needs)."""
        items = [(key, candles) for key, candles in items if candles]
        if not items:
            return
        first = min(candles[0].open_time for _, candles in items)
        last = max(candles[-1].open_time for _, candles in items)
        name = f"{time.time_ns()}-{first}-{last}.parquet"
        data = _parquet(_table(items, STORE_SCHEMA))
        storage.write_bytes_atomic(self.settings, f"{self.root}/candles/{name}", data)

    def candles(self, key: SeriesKey, *, after: int | None = None) -> list[Candle]:
        """The series' stored API candles opening after ``after`` (epoch ms), oldest first."""
        return self.candles_of({key: after}).get(key, [])

    def candles_of(self, after: Mapping[SeriesKey, int | None]) -> dict[SeriesKey, list[Candle]]:
        """Each series' stored API candles opening after its ``after`` (epoch ms; None: all),
        oldest first (series with none are left out); each file is read once."""
        bounds = list(after.values())
        skip_to = None if not bounds or None in bounds else min(b for b in bounds if b is not None)
        seen: dict[SeriesKey, dict[int, Candle]] = {}
        for path in storage.list_files(self.settings, f"{self.root}/candles", ".parquet"):
            if skip_to is not None and int(path.rsplit("-", 1)[-1].split(".")[0]) <= skip_to:
                continue
            table = pq.read_table(io.BytesIO(storage.read_bytes(self.settings, path)))
            *_, symbol, interval, _ = path.split("/")  # the former layout: candles/<S>/<I>/...
            for row in table.to_pylist():
                key = (row.get("symbol", symbol), row.get("interval", interval))
                if key in after and (after[key] is None or row["open_time"] > after[key]):
                    candle = Candle(**{n: row[n] for n in CANDLE_FIELDS})
                    seen.setdefault(key, {})[candle.open_time] = candle
        return {key: [by[t] for t in sorted(by)] for key, by in seen.items()}

    def write_status(self, status: dict[str, Any]) -> None:
        text = json.dumps(status, indent=2, sort_keys=True, default=str) + "\n"
        storage.write_bytes_atomic(self.settings, f"{self.root}/status.json", text.encode())

    def read_status(self) -> dict[str, Any] | None:
        path = f"{self.root}/status.json"
        if not storage.exists(self.settings, path):
            return None
        return dict(json.loads(storage.read_bytes(self.settings, path)))


def connect_briefly(settings: Settings) -> duckdb.DuckDBPyConnection:
    """A writing connection to the lake, retried a few times while another process holds the
    catalog; :class:`LakeBusy` after that (the caller keeps its writes for later)."""
    for attempt in range(LOCK_ATTEMPTS):
        try:
            return connect(settings)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise
            time.sleep(LOCK_WAIT_SECONDS * (attempt + 1))
    raise LakeBusy(f"{settings.location}: another process holds the catalog")


def land_days(
    conn: duckdb.DuckDBPyConnection,
    store: LiveStore,
    days: Iterable[tuple[str, str, str]],
) -> int:
    """Land each (symbol, interval, day) of API candles as one landing file (provider
    ``api``); an unchanged day is left as it is. Returns how many files landed."""
    manifest = load_manifest(conn)
    landed = 0
    days = sorted(set(days))
    after: dict[SeriesKey, int] = {}
    for symbol, interval, day in days:
        start = int(datetime.fromisoformat(day).timestamp() * 1000) - 1
        after[(symbol, interval)] = min(after.get((symbol, interval), start), start)
    stored = store.candles_of(after)
    for symbol, interval, day in days:
        candles = [c for c in stored.get((symbol, interval), []) if f"{c.opened:%Y-%m-%d}" == day]
        if not candles:
            continue
        data = _parquet(candles_table(candles))
        sha = hashlib.sha256(data).hexdigest()
        source = api_source_file(symbol, interval, candles[0])
        if manifest.get(source) == sha:
            continue
        decoded = decoded_location(store.settings.landing_root, decoded_file(sha))
        storage.write_bytes_atomic(store.settings, decoded, data)
        entry = ManifestEntry(
            source,
            sha,
            decoded_file(sha),  # relative to the landing root, as the batch records it
            API_PROVIDER,
            "spot",
            symbol,
            interval,
            "daily",
            len(candles),
        )
        record_file(conn, entry)
        landed += 1
    return landed


def replace_feed_rows(conn: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> None:
    """``gold_signal_feed``'s rows of these (strategy, symbol, interval) replaced, at once."""
    ensure_paper_tables(conn)
    conn.execute("begin")
    try:
        for row in rows:
            conn.execute(
                "delete from gold_signal_feed where strategy_id = ? and symbol = ? "
                "and interval = ?",
                [row["strategy_id"], row["symbol"], row["interval"]],
            )
        if rows:
            insert(conn, "gold_signal_feed", pa.Table.from_pylist(rows))
        conn.execute("commit")
    except BaseException:
        conn.execute("rollback")
        raise


def sync_to_lake(
    settings: Settings,
    store: LiveStore,
    days: set[tuple[str, str, str]],
    feed: list[dict[str, Any]],
    ledgers: list[SeriesLedger],
    snapshot: int,
) -> tuple[int, int]:
    """Write what is pending to the lake (:class:`LakeBusy` when it stays locked).

    Returns (landing files written, paper orders appended)."""
    conn = connect_briefly(settings)
    try:
        landed = land_days(conn, store, days)
        replace_feed_rows(conn, feed)
        orders = extend_ledgers(conn, ledgers, snapshot=snapshot).orders if ledgers else 0
    finally:
        conn.close()
    return landed, orders
