"""Segmentation: sentences and paragraphs with offsets into the document text."""
