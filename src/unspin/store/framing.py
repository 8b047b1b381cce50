"""Rows of a document's framing: the entities it casts (`entity_roles`) and the narratives it serves
(`narratives`), made from the Document's `entities` and `narratives` fields.

The Document JSON keeps both fields whole; these rows are what corpus aggregates count. A field that
is None (the framing stage did not run) makes no rows, and the document's `n_entities`/`n_narratives`
stay None, so it is counted apart from documents that were analysed and found nothing.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from sqlalchemy.orm import Session

from unspin.framing.entities import normalise_name
from unspin.store.schema import DocumentRow, EntityRoleRow, NarrativeRow

_DROPPED = re.compile(r"[.'’‘`\"“”«»]")  # U.S. = US
_SEPARATORS = re.compile(r"[^\w]+")


def entity_key(name: str, language: str | None = None, actor: str | None = None) -> str:
    """The key under which a corpus counts one entity across articles. An entity the framing stage
    tied to a known actor (`actor`, the same id in every language) is that actor; any other is its
    name in the matching form of `unspin.framing.entities` for its language: case, Unicode form,
    accents, dots and quotes, a possessive or a leading article, inflection in Russian and Bulgarian
    ("the U.S.'s" = "US", "Путина" = "Путин")."""
    if actor:
        return f"actor:{actor}"
    name = unicodedata.normalize("NFKC", name)
    key = normalise_name(name, language)
    if not key:  # a name of punctuation alone: keep what there is
        key = " ".join(_SEPARATORS.sub(" ", _DROPPED.sub("", name.casefold())).split()) or name.strip().casefold()
    return key


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def top_role(entity: dict[str, Any]) -> str | None:
    """The fine role with the highest score (None where the entity has no main role or no fine roles)."""
    if not _text(entity.get("main_role")):
        return None
    roles = [r for r in entity.get("roles") or [] if isinstance(r, dict) and _text(r.get("role"))]
    if not roles:
        return None
    best = max(roles, key=lambda r: _number(r.get("score")) or 0.0)
    return _text(best.get("role"))


def entity_rows(
    document_id: int, entities: list[dict[str, Any]] | None, language: str | None = None
) -> list[EntityRoleRow]:
    """One row per named entity (entries without a name are left out), keyed by `entity_key` in the
    document's language."""
    rows = []
    for entity in entities or []:
        name = _text(entity.get("name")) if isinstance(entity, dict) else None
        if name is None:
            continue
        mentions = entity.get("mentions")
        rows.append(
            EntityRoleRow(
                document_id=document_id,
                name=name,
                key=entity_key(name, language, _text(entity.get("actor"))),
                main_role=_text(entity.get("main_role")),
                fine_role=top_role(entity),
                score=_number(entity.get("score")),
                n_mentions=len(mentions) if isinstance(mentions, list) else 0,
            )
        )
    return rows


def narrative_rows(document_id: int, narratives: list[dict[str, Any]] | None) -> list[NarrativeRow]:
    """One row per narrative entry (entries without a narrative label are left out)."""
    rows = []
    for entry in narratives or []:
        label = _text(entry.get("narrative")) if isinstance(entry, dict) else None
        if label is None:
            continue
        rows.append(
            NarrativeRow(
                document_id=document_id,
                narrative=label,
                subnarrative=_text(entry.get("subnarrative")),
                score=_number(entry.get("score")),
            )
        )
    return rows


def add_framing(session: Session, row: DocumentRow, entities: object, narratives: object) -> None:
    """Add the framing rows of a stored document and set its `n_entities`/`n_narratives` (None for a
    field that is not a list: the stage did not run)."""
    if isinstance(entities, list):
        found = entity_rows(row.id, entities, row.language)
        session.add_all(found)
        row.n_entities = len(found)
    if isinstance(narratives, list):
        served = narrative_rows(row.id, narratives)
        session.add_all(served)
        row.n_narratives = len(served)
