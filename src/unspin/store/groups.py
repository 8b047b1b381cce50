"""Reading the groups the store keeps: republished copies (from the stored copy links, grouped by
`unspin.aggregate.copies.copy_groups`) and stories (from stored embeddings, grouped by
`unspin.aggregate.stories.group_stories`). Primary documents only: each text once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from unspin.aggregate.copies import Member, signature_from_bytes
from unspin.aggregate.copies import copy_groups as group_copies
from unspin.store.schema import CopyLink, DocumentRow, Embedding, Signature


def copy_groups(s: Session) -> list[dict[str, Any]]:
    links = [(str(a), str(b)) for a, b in s.execute(select(CopyLink.a_id, CopyLink.b_id))]
    if not links:
        return []
    ids = sorted({int(k) for pair in links for k in pair})
    rows = {}
    for i in range(0, len(ids), 500):
        for r in s.execute(
            select(DocumentRow.id, DocumentRow.public_id, DocumentRow.source, DocumentRow.record_id,
                   DocumentRow.outlet, DocumentRow.published, DocumentRow.title, Signature.minhash,
                   Signature.shingles)
            .join(Signature, Signature.document_id == DocumentRow.id)
            .where(DocumentRow.id.in_(ids[i : i + 500]))
        ):  # fmt: skip
            rows[str(r.id)] = r
    links = [(a, b) for a, b in links if a in rows and b in rows]
    members = {k: Member(k, r.outlet, r.published, r.source, order=r.id) for k, r in rows.items()}
    signatures = {k: signature_from_bytes(r.minhash) for k, r in rows.items()}
    sizes = {k: r.shingles for k, r in rows.items()}
    out = []
    for group in group_copies(links, members, signatures, sizes):
        listed = []
        for m in group.members:
            r = rows[m.key]
            listed.append(
                {"corpus_id": r.id, "id": r.public_id, "source": r.source, "record_id": r.record_id,
                 "outlet": r.outlet, "published": r.published, "title": r.title,
                 "similarity": group.similarity.get(m.key, 1.0)}
            )  # fmt: skip
        out.append({"first": listed[0], "members": listed})
    return out


def missing_embeddings(s: Session) -> list[tuple[int, str | None, str]]:
    """Primary documents without a story embedding: (id, title, text)."""
    have = select(Embedding.document_id)
    return [
        (doc_id, title, (data or {}).get("text", ""))
        for doc_id, title, data in s.execute(
            select(DocumentRow.id, DocumentRow.title, DocumentRow.document)
            .where(DocumentRow.duplicate_of.is_(None), DocumentRow.id.notin_(have))
            .order_by(DocumentRow.id)
        )
    ]


def embed(todo: list[tuple[int, str | None, str]]) -> list[Embedding]:
    """Story embeddings (float16, unit length) of the documents' titles and openings."""
    import numpy as np

    from unspin.aggregate.stories import lead_text
    from unspin.models.sentence_encoder import SentenceEncoder

    encoder = SentenceEncoder.load(max_length=96)
    out = []
    for i in range(0, len(todo), 64):
        chunk = todo[i : i + 64]
        vecs = encoder.encode([lead_text(title, text) for _, title, text in chunk])
        out.extend(
            Embedding(document_id=doc_id, vector=vec.astype(np.float16).tobytes())
            for (doc_id, _, _), vec in zip(chunk, vecs, strict=True)
        )
    return out


def stories(s: Session, *, window_days: int | None = None, similarity: float | None = None) -> list[dict[str, Any]]:
    import numpy as np

    from unspin.aggregate.stories import group_stories

    rows = s.execute(
        select(DocumentRow.id, DocumentRow.public_id, DocumentRow.title, DocumentRow.outlet, DocumentRow.published,
               DocumentRow.source, Embedding.vector)
        .join(Embedding, Embedding.document_id == DocumentRow.id)
        .where(DocumentRow.duplicate_of.is_(None))
        .order_by(DocumentRow.id)
    ).all()  # fmt: skip
    if len(rows) < 2:
        return []
    vectors = np.stack([np.frombuffer(r.vector, dtype=np.float16).astype(np.float32) for r in rows])
    kwargs: dict[str, Any] = {}
    if window_days is not None:
        kwargs["window_days"] = window_days
    if similarity is not None:
        kwargs["similarity"] = similarity
    out = []
    for story in group_stories(vectors, [r.published for r in rows], **kwargs):
        members = [rows[i] for i in story.members]
        dated = [m.published for m in members if m.published]
        out.append(
            {
                "size": len(members),
                "cohesion": story.cohesion,
                "first_published": min(dated) if dated else None,
                "last_published": max(dated) if dated else None,
                "outlets": sorted({m.outlet for m in members if m.outlet}),
                "members": [
                    {"corpus_id": m.id, "id": m.public_id, "title": m.title, "outlet": m.outlet,
                     "published": m.published, "source": m.source}
                    for m in members
                ],
            }
        )  # fmt: skip
    return out
