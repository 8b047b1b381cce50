"""Check-worthy claims: the sentence-level detector (inference only)."""
