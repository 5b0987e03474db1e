"""vectorbt backtests stored in the lake, and their exact reproduction.

Entry points (used by the CLI and the Prefect flow):

* :func:`hermes.backtest.runs.run_backtests` ``(settings, strategy_id, symbols, intervals,
  ...) -> list[run_id]``: simulate and write ``gold_backtest_runs/trades/equity``
* :func:`hermes.backtest.reproduce.reproduce` ``(settings, run_id) -> Reproduction``
* :func:`hermes.report.write_report` ``(settings, run_id) -> Path``: the HTML page

Modules: ``config`` (execution options), ``inputs`` (data read at a snapshot), ``engine``
(vectorbt), ``metrics`` (definitions), ``tables`` (DDL), ``provenance`` (git, versions).
"""
