"""Bad candles and hostile files are refused at ingest: one line naming the file, the first
bad row and the problem; exit 1; the landed version stays; good files still go through.

Every bad file is a real one edited: the bundled Binance CSVs (``data/binance-ohlcv/``) and
Binance kline archives built from them in the public data site's layout.
"""

from __future__ import annotations

import gzip
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fixtures.binance import BUNDLED, archive, kline_csv, kline_zip, zip_bytes
from typer.testing import CliRunner

from hermes.cli import app
from hermes.config import Settings
from hermes.ingest import Outcome, ingest_paths
from hermes.ingest.quarantine import MAX_REASON_CHARS, quarantine_path
from hermes.ingest.text_checks import MAX_LINE_BYTES
from hermes.lake import connect


def bundled_text(symbol: str, interval: str, rows: int) -> str:
    """The header and the first ``rows`` candles of a bundled real CSV."""
    text = gzip.decompress((BUNDLED / f"{symbol}_{interval}.csv.gz").read_bytes()).decode()
    return "".join(text.splitlines(keepends=True)[: rows + 1])


def edit_csv(symbol: str, interval: str, line: int, column: int, value: str) -> bytes:
    """A bundled CSV (100 candles) with field ``column`` of line ``line`` (1-based) set."""
    lines = bundled_text(symbol, interval, 100).splitlines()
    fields = lines[line - 1].split(",")
    fields[column] = value
    lines[line - 1] = ",".join(fields)
    return ("\n".join(lines) + "\n").encode()


def edit_kline(name: str, line: int, column: int, value: str | Callable[[list[str]], str]) -> bytes:
    """A real-layout kline archive with field ``column`` of line ``line`` replaced."""
    parsed = archive(name)
    lines = kline_csv(parsed).decode().splitlines()
    fields = lines[line - 1].split(",")
    fields[column] = value(fields) if callable(value) else value
    lines[line - 1] = ",".join(fields)
    return zip_bytes({f"{parsed.stem}.csv": ("\n".join(lines) + "\n").encode()})


def duplicate_with_other_close(symbol: str, interval: str) -> bytes:
    """Line 11 repeats the open time of line 10 with another close."""
    lines = bundled_text(symbol, interval, 100).splitlines()
    fields = lines[9].split(",")
    fields[4] = f"{float(fields[4]) * 1.01:.2f}"
    lines.insert(10, ",".join(fields))
    return ("\n".join(lines) + "\n").encode()


def exact_duplicate(symbol: str, interval: str) -> bytes:
    """Line 11 repeats line 10 exactly: harmless, accepted."""
    lines = bundled_text(symbol, interval, 100).splitlines()
    lines.insert(10, lines[9])
    return ("\n".join(lines) + "\n").encode()


def weekly_from_mondays(extra: str = "") -> bytes:
    """A 1w file opening on Mondays (real daily candles of the bundled 1d file)."""
    lines = bundled_text("BTCUSDT", "1d", 120).splitlines()
    mondays = [line for line in lines[1:] if _weekday(line.split(",")[0]) == 0]
    return ("\n".join([lines[0], *mondays, *([extra] if extra else [])]) + "\n").encode()


def _weekday(day: str) -> int:
    from datetime import date

    return date.fromisoformat(day).weekday()


@dataclass(frozen=True)
class Case:
    filename: str
    build: Callable[[], bytes]
    message: str  # the exact reason after "<source file>: "
    landed_first: bool = False  # a good version is landed before: it must stay in force


CASES = {
    "negative_price": Case(
        "BTCUSDT-4h-2024-01.zip",
        lambda: edit_kline("BTCUSDT-4h-2024-01.zip", 5, 3, "-1"),
        "line 5 (open time 2024-01-01 16:00 UTC): low -1.0 is not a positive price",
        landed_first=True,
    ),
    "zero_price": Case(
        "BTCUSDT-4h-2024-02.zip",
        lambda: edit_kline("BTCUSDT-4h-2024-02.zip", 7, 1, "0"),
        "line 7 (open time 2024-02-02 00:00 UTC): open 0.0 is not a positive price",
    ),
    "negative_volume": Case(
        "BTCUSDT-4h-2024-03.zip",
        lambda: edit_kline("BTCUSDT-4h-2024-03.zip", 2, 5, "-3.5"),
        "line 2 (open time 2024-03-01 04:00 UTC): volume -3.5 is negative",
    ),
    "high_below_low": Case(
        "BTCUSDT-4h-2024-04.zip",
        lambda: edit_kline("BTCUSDT-4h-2024-04.zip", 3, 2, "60000"),
        "line 3 (open time 2024-04-01 08:00 UTC): high 60000.0 is below low 69165.35",
    ),
    "low_above_open_and_close": Case(
        "BTCUSDT-4h-2024-05.zip",
        lambda: edit_kline("BTCUSDT-4h-2024-05.zip", 4, 3, lambda f: f[2]),
        "line 4 (open time 2024-05-01 12:00 UTC): low 58275.87 is above open 57898.46",
    ),
    "off_grid_archive": Case(
        "BTCUSDT-4h-2024-06.zip",
        lambda: edit_kline("BTCUSDT-4h-2024-06.zip", 9, 0, lambda f: str(int(f[0]) + 60_000)),
        "line 9 (open time 2024-06-02 08:01 UTC): open time is off the 4h grid",
    ),
    "not_finite_csv": Case(
        "ETHUSDT_4h.csv",
        lambda: edit_csv("ETHUSDT", "4h", 12, 2, "inf"),
        "line 12: high value 'inf' is not a finite number",
        landed_first=True,
    ),
    "nan_csv": Case(
        "ETHUSDT_1d.csv",
        lambda: edit_csv("ETHUSDT", "1d", 3, 4, "NaN"),
        "line 3: close value 'NaN' is not a finite number",
    ),
    "high_below_close_csv": Case(
        "BTCUSDT_4h.csv",
        lambda: edit_csv("BTCUSDT", "4h", 3, 2, "4400"),
        "line 3 (open time 2017-08-17 08:00 UTC): high 4400.0 is below close 4427.3",
        landed_first=True,
    ),
    "off_grid_csv": Case(
        "BTCUSDT_1h.csv",
        lambda: edit_csv("BTCUSDT", "4h", 2, 0, "2017-08-17 04:30:00"),
        "line 2 (open time 2017-08-17 04:30 UTC): open time is off the 1h grid",
    ),
    "off_grid_4h_csv": Case(
        "SOLUSDT_4h.csv",
        lambda: edit_csv("BTCUSDT", "4h", 2, 0, "2017-08-17 01:17:00"),
        "line 2 (open time 2017-08-17 01:17 UTC): open time is off the 4h grid",
    ),
    "duplicate_open_time_csv": Case(
        "BTCUSDT_1d.csv",
        lambda: duplicate_with_other_close("BTCUSDT", "1d"),
        "line 11 (open time 2017-08-25 00:00 UTC): repeats the open time of line 10 with "
        "other values",
        landed_first=True,
    ),
    "weekly_on_sunday": Case(
        "BTCUSDT_1w.csv",
        lambda: weekly_from_mondays("2017-11-26,8000,8100,7900,8050,10"),
        "line 19 (open time 2017-11-26 00:00 UTC): open time is off the 1w grid",
    ),
    "utf16_with_bom": Case(
        "XRPUSDT_1d.csv",
        lambda: bundled_text("ETHUSDT", "1d", 30).encode("utf-16"),
        "encoding: the file is UTF-16 (little-endian, with BOM) text; expected UTF-8",
    ),
    "utf16_without_bom": Case(
        "ADAUSDT_1d.csv",
        lambda: bundled_text("ETHUSDT", "1d", 30).encode("utf-16-be"),
        "encoding: the file is UTF-16 (big-endian) text (no BOM); expected UTF-8",
    ),
    "utf16_in_archive": Case(
        "ETHUSDT-4h-2024-02.zip",
        lambda: zip_bytes(
            {
                "ETHUSDT-4h-2024-02.csv": kline_csv(archive("ETHUSDT-4h-2024-02.zip"))
                .decode()
                .encode("utf-16")
            }  # fmt: skip
        ),
        "encoding: the file is UTF-16 (little-endian, with BOM) text; expected UTF-8",
    ),
}

GOOD = {  # still ingested next to the bad files
    "ETHUSDT-4h-2024-01.zip": lambda: kline_zip(archive("ETHUSDT-4h-2024-01.zip")),
    "LTCUSDT_1d.csv": lambda: exact_duplicate("ETHUSDT", "1d"),
    "ETHUSDT_1w.csv": lambda: weekly_from_mondays(),
}


def source_file(filename: str) -> str:
    if filename.endswith(".zip"):
        return archive(filename).source_file
    symbol, interval = filename.split(".")[0].split("_")
    return f"csv/{symbol}/{interval}/{filename}"


def hermes_ingest(settings: Settings, *paths: Path) -> tuple[int, str]:
    saved = os.environ.get("HERMES_LAKE_ROOT")
    os.environ["HERMES_LAKE_ROOT"] = str(settings.lake_root)
    try:
        result = CliRunner().invoke(app, ["ingest", *map(str, paths)], terminal_width=200)
    finally:
        if saved is None:
            os.environ.pop("HERMES_LAKE_ROOT")
        else:
            os.environ["HERMES_LAKE_ROOT"] = saved
    return result.exit_code, result.output


def read_lake(settings: Settings) -> tuple[dict[str, tuple[str, int]], list[tuple[str, str, str]]]:
    conn = connect(settings)
    try:
        manifest = {
            source: (sha, rows)
            for source, sha, rows in conn.execute(
                "select source_file, source_sha256, row_count from landing.files"
            ).fetchall()
        }
        quarantined = conn.execute(
            "select source_file, source_sha256, reason from landing.quarantine "
            "order by quarantined_at"
        ).fetchall()
    finally:
        conn.close()
    return manifest, quarantined


def landed_version(filename: str) -> bytes:
    """The good version landed first (same name as a bad case)."""
    if filename.endswith(".zip"):
        return kline_zip(archive(filename))
    symbol, interval = filename.split(".")[0].split("_")
    return bundled_text(symbol, interval, 50).encode()


@dataclass
class Run:
    settings: Settings
    exit_code: int
    output: str
    landed: dict[str, tuple[str, int]]  # manifest before the bad files
    manifest: dict[str, tuple[str, int]]
    quarantined: dict[str, tuple[str, str]]
    sent: dict[str, bytes]  # bad file name -> the bytes given to hermes ingest


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    root = tmp_path_factory.mktemp("bad_candles")
    settings = Settings(lake_root=root / "lake")
    first = root / "first"
    first.mkdir()
    for case in CASES.values():
        if case.landed_first:
            (first / case.filename).write_bytes(landed_version(case.filename))
    assert ingest_paths([first], settings).ok
    landed, _ = read_lake(settings)
    incoming = root / "incoming"
    incoming.mkdir()
    sent = {case.filename: case.build() for case in CASES.values()}
    for filename, data in sent.items():
        (incoming / filename).write_bytes(data)
    for filename, build in GOOD.items():
        (incoming / filename).write_bytes(build())
    exit_code, output = hermes_ingest(settings, incoming)
    manifest, rows = read_lake(settings)
    quarantined = {source: (sha, reason) for source, sha, reason in rows}
    yield Run(settings, exit_code, output, landed, manifest, quarantined, sent)


@pytest.mark.parametrize("case_id", list(CASES))
def test_bad_file_is_refused_in_one_line(run: Run, case_id: str) -> None:
    case = CASES[case_id]
    source = source_file(case.filename)
    sha, reason = run.quarantined[source]
    assert reason == f"{source}: {case.message}"
    assert "\n" not in reason
    printed = [line.strip() for line in run.output.splitlines() if source in line]
    assert printed == [f"quarantined: {reason}"]
    kept = Path(quarantine_path(run.settings, source, sha[:16]))
    assert kept.read_bytes() == run.sent[case.filename]
    assert f"reason: {reason}\n" in Path(f"{kept}.reason.txt").read_text()


@pytest.mark.parametrize("case_id", [c for c in CASES if CASES[c].landed_first])
def test_the_landed_version_stays_in_force(run: Run, case_id: str) -> None:
    source = source_file(CASES[case_id].filename)
    assert run.manifest[source] == run.landed[source]
    landed = Path(run.settings.landing_root) / source
    assert landed.is_file()
    decoded = Path(run.settings.landing_root) / "_decoded" / f"{run.manifest[source][0]}.parquet"
    assert decoded.is_file()


def test_the_command_fails_and_good_files_go_through(run: Run) -> None:
    assert run.exit_code == 1
    assert f"{len(CASES)} quarantined" in run.output
    assert set(run.quarantined) == {source_file(c.filename) for c in CASES.values()}
    assert run.manifest["binance/spot/monthly/klines/ETHUSDT/4h/ETHUSDT-4h-2024-01.zip"][1] == 186
    assert run.manifest["csv/LTCUSDT/1d/LTCUSDT_1d.csv"][1] == 101  # exact duplicate: accepted
    assert run.manifest["csv/ETHUSDT/1w/ETHUSDT_1w.csv"][1] == 17  # Mondays: on the 1w grid
    for case in CASES.values():
        if not case.landed_first:
            assert source_file(case.filename) not in run.manifest


def test_a_20_mb_line_is_refused_in_bounded_time(tmp_path: Path, lake_settings: Settings) -> None:
    lines = bundled_text("BTCUSDT", "4h", 50).splitlines()
    lines[3] = "x" * 20_000_000 + lines[3]
    huge = tmp_path / "BTCUSDT_4h.csv"
    huge.write_bytes(("\n".join(lines) + "\n").encode())
    good = tmp_path / "BTCUSDT_1d.csv"
    good.write_bytes(bundled_text("BTCUSDT", "1d", 20).encode())
    started = time.perf_counter()
    exit_code, output = hermes_ingest(lake_settings, huge, good)
    elapsed = time.perf_counter() - started
    assert elapsed < 15, elapsed
    assert exit_code == 1
    message = (
        "csv/BTCUSDT/4h/BTCUSDT_4h.csv: line 4: line too long (20000062 bytes; the limit is "
        f"{MAX_LINE_BYTES} bytes per line)"
    )
    assert f"  quarantined: {message}" in output.splitlines(), output
    manifest, quarantined = read_lake(lake_settings)
    assert [reason for _, _, reason in quarantined] == [message]
    assert manifest["csv/BTCUSDT/1d/BTCUSDT_1d.csv"][1] == 20
    assert len(output) < 2000


def test_reasons_are_cut_to_their_documented_length(
    tmp_path: Path, lake_settings: Settings
) -> None:
    name = "BTCUSDT-4h-2024-07.zip"
    path = tmp_path / name
    path.write_bytes(edit_kline(name, 5, 2, "9" * 400 + "O" + "9" * 400))  # a letter O
    report = ingest_paths([path], lake_settings)
    [result] = report.results
    assert result.outcome is Outcome.QUARANTINED
    assert result.reason is not None and len(result.reason) == MAX_REASON_CHARS
    assert result.reason.endswith(" ... [cut]")
    _, quarantined = read_lake(lake_settings)
    assert [reason for _, _, reason in quarantined] == [result.reason]


def test_a_second_rejected_file_keeps_the_first_ones_copy(
    tmp_path: Path, lake_settings: Settings
) -> None:
    name = "BTCUSDT-4h-2024-08.zip"
    first = edit_kline(name, 2, 3, "-1")
    second = edit_kline(name, 3, 5, "-2")
    for data in (first, second):
        (tmp_path / name).write_bytes(data)
        exit_code, _ = hermes_ingest(lake_settings, tmp_path / name)
        assert exit_code == 1
    _, quarantined = read_lake(lake_settings)
    source = archive(name).source_file
    assert [(s, reason.split(": ", 1)[1]) for s, _, reason in quarantined] == [
        (source, "line 2 (open time 2024-08-01 04:00 UTC): low -1.0 is not a positive price"),
        (source, "line 3 (open time 2024-08-01 08:00 UTC): volume -2.0 is negative"),
    ]
    for (_, sha, _), data in zip(quarantined, (first, second), strict=True):
        assert Path(quarantine_path(lake_settings, source, sha[:16])).read_bytes() == data
