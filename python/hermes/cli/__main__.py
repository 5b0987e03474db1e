"""``python -m hermes.cli``: the ``hermes`` command."""

from hermes.cli import app

app()
