"""unspin: show how a news article persuades."""

from unspin.document import Document, OffsetMap, Removal, Segment, Span

__version__ = "0.1.0"
__all__ = ["Document", "OffsetMap", "Removal", "Segment", "Span", "__version__"]
