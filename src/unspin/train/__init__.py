"""Training recipes that reproduce the shipped models (need the training extras: torch)."""
