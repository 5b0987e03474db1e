"""How far to trust a backtest: deflated Sharpe ratio, PBO by CSCV and bootstrap intervals.

Pure functions on numpy arrays (:mod:`hermes.stats.sharpe`, :mod:`hermes.stats.cscv`,
:mod:`hermes.stats.bootstrap`) and the lake rows that hold them (:mod:`hermes.stats.study`).
"""
