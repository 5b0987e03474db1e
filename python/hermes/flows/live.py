"""Live signals as Prefect flows: the warm loop, or one step per bar close on a schedule.

* ``hermes-live`` with ``once=False`` runs :func:`hermes.live.engine.run_forever`: a
  deployment started once, whose process worker keeps it running (warm: the series, their
  state and the compiled SQL stay in memory), as ``hermes live`` does;
* with ``once=True`` it lands and decides what closed since the last landed bar, then ends:
  for a cron deployment at each interval's close (``prefect.yaml``: ``live-4h``); each run
  starts cold (a dbt compile and the series' load, some seconds) before its step.

A step that raised an alert fails the flow run, so Prefect shows and notifies it.
"""

from __future__ import annotations

from prefect import flow, get_run_logger

from hermes.config import Settings


@flow(name="hermes-live")
def live_signals(
    symbols: list[str] | None = None, intervals: list[str] | None = None, once: bool = False
) -> int:
    """The live path on the lake named by the worker's environment (``HERMES_*``)."""
    from hermes.live.client import KlinesClient
    from hermes.live.engine import LiveEngine, lake_series, run_forever

    settings = Settings.from_env()
    client = KlinesClient()
    try:
        engine = LiveEngine(settings, client, series=lake_series(settings, symbols, intervals))
        if once:
            report = engine.step()
            for line in report.decisions + report.alerts:
                get_run_logger().info("%s", line)
            status = int(bool(report.alerts))
        else:
            status = run_forever(engine)
    finally:
        client.close()
    if status:
        raise RuntimeError("hermes live: a series was alerted and skipped (see the webhook)")
    return status
