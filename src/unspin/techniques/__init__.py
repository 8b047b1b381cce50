"""Propaganda techniques at span level: the 14 PTC techniques explained, and the tagger that finds them."""

from unspin.techniques.tagger import TechniqueTagger
from unspin.techniques.taxonomy import TECHNIQUES, Technique, technique

__all__ = ["TECHNIQUES", "Technique", "TechniqueTagger", "technique"]
