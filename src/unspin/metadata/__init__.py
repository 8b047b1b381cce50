"""Metadata: title, author, publication date, outlet (article.py, in one place) and language."""
