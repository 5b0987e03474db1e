"""From research to production signals: the signal feed, the paper-trading ledger, drift
alerts and the broker hand-off (:mod:`hermes.paper.feed`, :mod:`hermes.paper.ledger`,
:mod:`hermes.paper.drift`, :mod:`hermes.paper.broker`)."""
