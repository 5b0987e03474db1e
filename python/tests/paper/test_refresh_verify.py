"""A refresh's paper step ends with `hermes paper --verify`'s check, and the command reports
an edited ledger: on a lake of its own built from the bundled data (registry activation), a
copy of the session's ``built_lake``."""

from __future__ import annotations

from unittest import mock

from fixtures.paper_ledger import hermes_cli, read

import hermes.lake
from hermes.config import Settings
from hermes.lake import connect, current_snapshot
from hermes.paper.run import refresh_paper

LOAD = hermes.lake.load_extensions
"""Called once by every lake connection opened: counting its calls counts connections."""


def test_the_refresh_verifies_its_ledger_and_the_command_finds_an_edit(
    built_lake_copy: Settings,
) -> None:
    settings = built_lake_copy
    conn = connect(settings)
    try:
        snapshot = current_snapshot(conn)
    finally:
        conn.close()
    # counted: the step opens one lake connection (each loads the extensions), moving it
    # between the working state and the snapshot instead of opening others
    with mock.patch.object(hermes.lake, "load_extensions", wraps=LOAD) as opened:
        summary = refresh_paper(settings, snapshot, write_files=False)
    assert opened.call_count == 1
    assert summary.series == 2 and summary.ledger_orders > 0
    finals = read(
        settings,
        "select symbol, count(*) from gold_paper_orders group by symbol order by symbol",
    )
    equity = dict(
        read(
            settings,
            "select symbol, arg_max(equity, open_time) from gold_paper_equity group by symbol",
        )
    )
    assert summary.verify == [
        f"smart_momentum {symbol} 4h: ledger == backtest: {count} orders, final equity "
        f"{equity[symbol]:.2f} (backtest {equity[symbol]:.2f})"
        for symbol, count in finals
    ]
    assert not [a for a in summary.alerts if "verify" in a]

    again = refresh_paper(settings, snapshot, write_files=False)  # nothing new: nothing done
    assert (again.ledger_orders, again.ledger_bars, again.series) == (0, 0, 0)
    assert again.drift == [] and again.verify == [] and again.feed_rows == summary.feed_rows

    same = hermes_cli(["paper", "--verify"], settings)
    assert same.returncode == 0, same.stderr
    assert [line.strip() for line in same.stdout.splitlines()] == summary.verify

    conn = connect(settings)
    try:
        ((at,),) = conn.execute(
            "select min(open_time) + interval 40 day from gold_paper_equity"
        ).fetchall()
        conn.execute(
            "update gold_paper_equity set equity = equity + 0.02 "
            "where symbol = 'ETHUSDT' and open_time = ?",
            [at],
        )
    finally:
        conn.close()
    edited = hermes_cli(["paper", "--verify"], settings)
    assert edited.returncode == 1
    lines = edited.stdout.splitlines()
    assert lines[0] == summary.verify[0]
    assert lines[1].startswith(f"smart_momentum ETHUSDT 4h: ledger != backtest: equity at {at}:")
