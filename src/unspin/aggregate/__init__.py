"""Corpus-level views: republished copies, stories, aggregates by outlet and time."""
