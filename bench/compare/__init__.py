"""Side-by-side baselines: what users would otherwise write, with no Hermes indicator or
backtest code."""
