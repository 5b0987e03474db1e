"""The error every ingest check raises for a source file whose content cannot be trusted."""


class DecodeError(ValueError):
    """A source file whose content cannot be trusted (the message says where and why)."""
