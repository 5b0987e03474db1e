"""The broker hand-off: a versioned orders document and the adapter a real client plugs into.

Hermes never places live orders and holds no exchange keys. What it hands over is the
orders document of ``orders.schema.json`` (JSON Schema, version :data:`SCHEMA_VERSION`),
and the :class:`Broker` protocol; :class:`PaperBroker` is its only implementation here (it
records what it is sent). A user's own exchange client implements ``submit`` and is given
:func:`orders_document`'s orders.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from importlib import resources
from typing import Any, Protocol

SCHEMA_VERSION = "1.0.0"


def schema() -> dict[str, Any]:
    """The orders document's JSON Schema."""
    text = resources.files("hermes.paper").joinpath("orders.schema.json").read_text()
    return dict(json.loads(text))


def _text(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def orders_document(orders: list[dict[str, Any]], *, now: datetime | None = None) -> dict[str, Any]:
    """``orders`` (rows of ``gold_paper_orders``) as a document valid against :func:`schema`."""
    fields = schema()["properties"]["orders"]["items"]["required"]
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": (now or datetime.now(UTC)).isoformat(),
        "orders": [{k: _text(order[k]) for k in fields} for order in orders],
    }


class Broker(Protocol):
    """What a broker adapter does with the ledger's orders: accept them, say which it took."""

    def submit(self, document: dict[str, Any]) -> list[str]:
        """Send the document's orders; returns an id per accepted order."""
        ...


class PaperBroker:
    """The only broker of this project: validates and keeps the orders, sends nothing."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []

    def submit(self, document: dict[str, Any]) -> list[str]:
        import jsonschema

        jsonschema.validate(document, schema())
        self.received += document["orders"]
        return [
            f"paper-{o['strategy_id']}-{o['symbol']}-{o['interval']}-{o['order_id']}"
            for o in document["orders"]
        ]
