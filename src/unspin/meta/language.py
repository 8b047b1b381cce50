"""Language identification with a model that ships inside its package (py3langid)."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def identifier():
    """py3langid's identifier, loaded once (about 0.4 s)."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(text: str, max_chars: int = 2000) -> tuple[str | None, float | None]:
    """ISO 639-1 code and probability, or (None, None) when there is too little text to say."""
    sample = text[:max_chars]
    if sum(ch.isalpha() for ch in sample) < 3:
        return None, None
    lang, prob = identifier().classify(sample)
    return lang, round(float(prob), 4)
