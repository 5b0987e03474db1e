"""Live signals: closed candles from the exchange's market-data API, turned into features,
signals, feed rows, paper orders and webhook posts as each bar closes.

* :mod:`hermes.live.client`: Binance's REST klines endpoint (closed candles only, validated,
  bounded retries that honour the exchange's rate-limit headers);
* :mod:`hermes.live.fake_exchange`: a real local HTTP server publishing bundled candles on an
  injectable clock, with faults (tests and ``make bench``);
* :mod:`hermes.live.sources`: what the warm path starts from (the lake's series, the
  registry, the batch's compiled SQL);
* :mod:`hermes.live.klines`: API candles as ``silver_klines`` rows with their lineage;
* :mod:`hermes.live.warm`: the in-memory series and the batch's own SQL evaluated on them;
* :mod:`hermes.live.tracks` / :mod:`hermes.live.follow`: feed rows and paper ledgers
  extended bar by bar;
* :mod:`hermes.live.memory`: the process's resident memory kept flat;
* :mod:`hermes.live.store`: the live process's append-only store and its lake sync;
* :mod:`hermes.live.engine`: one step per bar close, and the long-running loop.
"""
