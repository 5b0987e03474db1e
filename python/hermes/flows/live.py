"""Live signals as Prefect flows: the warm loop, or one step per bar close on a schedule.

* ``hermes-live`` with ``once=False`` runs :func:`hermes.live.engine.run_forever`: a
  deployment started once, whose process worker keeps it running (warm: the series, their
  state and the compiled SQL stay in memory), as ``hermes live`` does (``max_steps``: stop
  after that many bar closes);
* with ``once=True`` it lands and decides what closed since the last landed bar, then ends:
  for a cron deployment at each interval's close (``prefect.yaml``: ``live-4h``); each run
  starts cold (a dbt compile and the series' load, some seconds) before its step;
* with ``fake_exchange=True`` it replays the bundled candles' last ``replay_days`` from the
  local fake exchange (:mod:`hermes.live.replay`, as ``hermes live --fake-exchange``): a
  demonstration that writes under ``<lake>/live/replay`` only.

A step that raised an alert fails the flow run, so Prefect shows and notifies it.
"""

from __future__ import annotations

from prefect import flow, get_run_logger

from hermes.config import Settings


@flow(name="hermes-live")
def live_signals(
    symbols: list[str] | None = None,
    intervals: list[str] | None = None,
    once: bool = False,
    max_steps: int | None = None,
    fake_exchange: bool = False,
    replay_days: int = 14,
    speed: float = 14_400.0,
) -> int:
    """The live path on the lake named by the worker's environment (``HERMES_*``)."""
    from hermes.live.client import KlinesClient
    from hermes.live.engine import LiveEngine, lake_series, run_forever

    settings = Settings.from_env()
    series = lake_series(settings, symbols, intervals)
    logger = get_run_logger()
    if fake_exchange:
        from hermes.live.replay import replay_bundled

        status = replay_bundled(
            settings, series, days=replay_days, speed=speed, max_steps=max_steps,
            announce=logger.info,
        )  # fmt: skip
    else:
        client = KlinesClient()
        try:
            engine = LiveEngine(settings, client, series=series)
            if once:
                report = engine.step()
                for line in report.decisions + report.alerts:
                    logger.info("%s", line)
                status = int(bool(report.alerts))
            else:
                status = run_forever(engine, max_steps=max_steps)
        finally:
            client.close()
    if status:
        raise RuntimeError("hermes live: a series was alerted and skipped (see the webhook)")
    return status
