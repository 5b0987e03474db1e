"""vectorbt backtests stored in the lake, and their exact reproduction.

Entry points (used by the CLI and the Prefect flow):

* :func:`hermes.backtest.runs.run_backtests` ``(settings, strategy_id, symbols, intervals,
  ...) -> list[run_id]``: simulate and write ``gold_backtest_runs/trades/equity``
* :func:`hermes.backtest.reproduce.reproduce` ``(settings, run_id) -> Reproduction``
* :func:`hermes.report.write_report` ``(settings, run_id) -> Path``: the HTML page
* :func:`hermes.backtest.portfolio.run_portfolio`: several symbols sharing one cash pool
* :func:`hermes.backtest.ab.run_ab`: production features vs an experimental entry filter
* :func:`hermes.backtest.grid.run_grid_backtest` / :func:`hermes.backtest.grid.run_grid`
  (arrays only): a parameter grid in one vectorbt call, into ``gold_backtest_grid``
* :func:`hermes.backtest.walk_forward.run_walk_forward`: rolling in-sample choice,
  out-of-sample runs, into ``gold_backtest_walk_forward``

Modules: ``config`` (execution options), ``inputs`` (data read at a snapshot), ``engine``
(vectorbt), ``metrics`` (definitions), ``tables`` (DDL), ``provenance`` (git, versions).
"""
