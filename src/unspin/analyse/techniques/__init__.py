"""Propaganda techniques at span level: the 14 PTC techniques explained, and the tagger that finds them."""

from unspin.analyse.techniques.tagger import TechniqueTagger
from unspin.analyse.techniques.taxonomy import TECHNIQUES, Technique, technique

__all__ = ["TECHNIQUES", "Technique", "TechniqueTagger", "technique"]
