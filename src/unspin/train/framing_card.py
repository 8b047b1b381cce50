"""The framing model's card, rendered from its config.json (`unspin train framing --card-only`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from unspin.train.cards import render

LANGS = ("EN", "BG", "HI", "PT", "RU")


def _lang(scores: dict[str, Any], lang: str) -> dict[str, Any] | None:
    return scores.get("per_language", {}).get(lang)


def rows(c: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per language (and all): test numbers beside the majority baselines."""
    test, base = c["test"], c["baselines"]
    out = []
    for lang in (*LANGS, "all"):
        pick = (lambda s: s) if lang == "all" else (lambda s, lang=lang: _lang(s, lang))
        r, rb = pick(test["roles"]), pick(base["roles"])
        n, nb = pick(test["narratives"]), pick(base["narratives"])
        if r is None and n is None:
            continue
        out.append({"lang": lang, "roles": r, "roles_base": rb, "narr": n, "narr_base": nb})
    return out


def render_card(c: dict[str, Any], en: dict[str, Any] | None = None) -> str:
    """`c`: the multilingual heads' config.json; `en`: the English route's (`en/config.json`), if any."""
    en_rows = [r for r in rows(en) if r["lang"] == "all"] if en else []  # one language: its pooled row
    return render("framing.md", c=c, rows=rows(c), t=c["thresholds"], d=c["data"], en=en, en_rows=en_rows)


def write_card(path: Path, c: dict[str, Any], en: dict[str, Any] | None = None) -> None:
    path.write_text(render_card(c, en), encoding="utf-8")
