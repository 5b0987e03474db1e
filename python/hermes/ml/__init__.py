"""Machine-learning signals: walk-forward training with purging and an embargo."""
