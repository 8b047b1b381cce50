"""Corpus analysis: store every analysis, resumably; aggregate; find republished copies."""
