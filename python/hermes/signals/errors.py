"""The error every strategy check raises (its own module: the registry and the accelerators
both raise it, and neither imports the other's module for it)."""


class StrategyError(ValueError):
    """Unknown strategy, a strategy only half defined, or parameters outside their range."""
