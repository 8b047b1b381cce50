"""Cleaning: debris out, metadata lines into metadata, with an exact map back to the input."""
