"""Hermes benchmark: ``python -m bench`` (``make bench``) measures every stage at scale."""
