"""Cleaning: debris lines out, with an exact map back to the input."""
