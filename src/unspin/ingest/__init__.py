"""Ingest: read inputs as they come and turn each into a clean `Document`."""

from unspin.ingest.build import build_document
from unspin.ingest.sources import RawInput, read_paths

__all__ = ["RawInput", "build_document", "read_paths"]
