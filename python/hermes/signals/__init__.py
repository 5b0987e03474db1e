"""Strategy signals: the registry, the rules, and chunked generation.

* :mod:`hermes.signals.registry`: the ``strategies`` seed, read and validated
* :mod:`hermes.signals.smart_momentum`: the Smart Momentum rule on numpy arrays
* :mod:`hermes.signals.chunked`: chunked generation with a look-back buffer
* :mod:`hermes.signals.run`: ``hermes signals`` (:func:`generate_signals`)
"""
