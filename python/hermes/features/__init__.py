"""The feature store as the lake holds it: ``gold_feature_store`` and ``gold_features``.

* :mod:`hermes.features.store`: ordered series read by time range, and which series exist
"""
