"""Hermes: a SQL-first research warehouse for crypto markets."""

__version__ = "0.1.0"
