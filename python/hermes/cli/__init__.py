"""The ``hermes`` command line: one module per command group, registered here explicitly.

* :mod:`hermes.cli.app`: the application object, ``--debug`` and ``--version``, shared helpers;
* :mod:`hermes.cli.options`: shared option types; :mod:`hermes.cli.errors`: one-line errors;
* :mod:`hermes.cli.data`: ``sql``, ``build``, ``quality``, ``maintain``, ``ingest``;
* :mod:`hermes.cli.signals`: ``signals generate|latest``, ``paper`` (tables in
  :mod:`hermes.cli.paper_views`);
* :mod:`hermes.cli.research`: ``backtest``, ``strategies``, ``report``, ``site``, ``reproduce``;
* :mod:`hermes.cli.jobs`: ``run``, ``refresh``, ``backfill``, ``serve``,
  ``server status|start|stop|url``;
* :mod:`hermes.cli.studies`: ``grid``, ``walk-forward``, ``ab``;
* :mod:`hermes.cli.check`: ``check`` (a strategy's lookahead and recursion check);
* :mod:`hermes.cli.live`: ``live`` (the live-signal loop) and ``live status``.
"""

from __future__ import annotations

import typer

from hermes.cli import check, data, jobs, live, research, signals, studies
from hermes.cli.app import app, sub_app
from hermes.cli.errors import HermesGroup

app.command()(data.sql)
app.command()(data.build)
app.command()(data.quality)
app.command()(data.maintain)
app.command()(data.ingest)
signals_app = sub_app("Strategy signals: generate them into the lake, or print the latest feed.")
signals_app.command("generate")(signals.generate)
signals_app.command("latest")(signals.latest)
app.add_typer(signals_app, name="signals")
app.command()(research.backtest)
app.command()(check.check)
app.command()(research.strategies)
app.command("report")(research.report_command)
app.command()(research.site)
app.command()(signals.paper)
app.command()(research.reproduce)
app.command()(jobs.run)
app.command()(jobs.refresh)
app.command()(jobs.backfill)
app.command()(jobs.serve)
server_app = sub_app("The local Prefect server runs use when PREFECT_API_URL is not set.")
server_app.command("status")(jobs.server_status)
server_app.command("start")(jobs.server_start)
server_app.command("stop")(jobs.server_stop)
server_app.command("url")(jobs.server_url)
app.add_typer(server_app, name="server")
app.command()(studies.grid)
app.command("walk-forward")(studies.walk_forward)
app.command()(studies.ab)

live_app = typer.Typer(
    cls=HermesGroup,
    add_completion=False,
    help="Live signals: the warm loop at each bar close, and its status.",
)
live_app.callback(invoke_without_command=True)(live.live)
live_app.command("status")(live.status)
app.add_typer(live_app, name="live")

__all__ = ["app"]
