"""Metadata: outlet, author, publication date, language."""
