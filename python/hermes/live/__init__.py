"""Live signals: closed candles from the exchange's market-data API, turned into features,
signals, feed rows, paper orders and webhook posts as each bar closes.

* :mod:`hermes.live.client`: Binance's REST klines endpoint (closed candles only, validated,
  bounded retries that honour the exchange's rate-limit headers);
* :mod:`hermes.live.fake_exchange`: a real local HTTP server publishing bundled candles on an
  injectable clock, with faults (tests and ``make bench``);
* :mod:`hermes.live.warm`: the in-memory series and the batch's own SQL evaluated on them;
* :mod:`hermes.live.store`: the live process's append-only store and its lake sync;
* :mod:`hermes.live.loop`: one step per bar close, and the long-running loop.
"""
