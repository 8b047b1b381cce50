"""Framing: who a text casts as hero, villain or victim, and which narrative it serves.

Empty for now; the framing stage (entity roles and narratives) will live here.
"""
