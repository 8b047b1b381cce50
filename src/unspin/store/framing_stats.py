"""Framing aggregates counted by the database: narratives per month, and who each outlet casts as
what. The database groups and counts (a corpus has many entity rows per document); the rows are
assembled by `unspin.aggregate.stats`. Literals are written into the SQL, not bound, so PostgreSQL sees
the same expression in SELECT and GROUP BY."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, case, distinct, func, literal_column, select
from sqlalchemy.orm import Session

from unspin.aggregate.stats import UNDATED, UNKNOWN_OUTLET, entity_rows, narrative_rows
from unspin.store.schema import DocumentRow, EntityRoleRow, NarrativeRow


def _quoted(value: str) -> ColumnElement:
    return literal_column("'" + value.replace("'", "''") + "'")


def month_column() -> ColumnElement:
    """The month of publication, `YYYY-MM`, or "(undated)"."""
    month = func.substr(DocumentRow.published, literal_column("1"), literal_column("7"))
    return func.coalesce(func.nullif(month, _quoted("")), _quoted(UNDATED))


def outlet_column() -> ColumnElement:
    return func.coalesce(DocumentRow.outlet, _quoted(UNKNOWN_OUTLET))


def _analysed(count: ColumnElement) -> ColumnElement:
    return case((count.is_(None), literal_column("0")), else_=literal_column("1"))


def narrative_stats(session: Session, where: ColumnElement) -> list[dict[str, Any]]:
    """`Store.stats("narrative")` over the documents `where` selects."""
    month = month_column()
    best = (
        select(NarrativeRow.document_id, NarrativeRow.narrative, func.max(NarrativeRow.score).label("score"))
        .group_by(NarrativeRow.document_id, NarrativeRow.narrative)
        .subquery()
    )
    served = session.execute(
        select(month, best.c.narrative, func.count(), func.avg(best.c.score))
        .select_from(best)
        .join(DocumentRow, DocumentRow.id == best.c.document_id)
        .where(where)
        .group_by(month, best.c.narrative)
    ).all()
    analysed = _analysed(DocumentRow.n_narratives)
    documents = session.execute(select(month, analysed, func.count()).where(where).group_by(month, analysed)).all()
    return narrative_rows(served, [(m, bool(a), n) for m, a, n in documents])


def entity_stats(
    session: Session, where: ColumnElement, *, monthly: bool = False, top: int | None = None
) -> list[dict[str, Any]]:
    """`Store.stats("entity")` over the documents `where` selects: per entity key, main role and outlet
    (and month), the `top` keys found in most documents."""
    place = [outlet_column(), month_column()] if monthly else [outlet_column()]
    key, role, docs = EntityRoleRow.key, EntityRoleRow.main_role, func.count(distinct(EntityRoleRow.document_id))
    chosen = where
    if top:
        keys = session.scalars(
            select(key).join(DocumentRow).where(where).group_by(key).order_by(docs.desc(), key).limit(top)
        ).all()
        chosen = where & key.in_(keys)
    cast = session.execute(
        select(key, role, *place, docs, func.sum(EntityRoleRow.n_mentions))
        .join(DocumentRow)
        .where(chosen)
        .group_by(key, role, *place)
    ).all()
    fine = session.execute(
        select(key, role, *place, EntityRoleRow.fine_role, docs)
        .join(DocumentRow)
        .where(chosen & EntityRoleRow.fine_role.is_not(None))
        .group_by(key, role, *place, EntityRoleRow.fine_role)
    ).all()
    spellings = session.execute(
        select(key, EntityRoleRow.name, func.count()).join(DocumentRow).where(chosen).group_by(key, EntityRoleRow.name)
    ).all()
    analysed = _analysed(DocumentRow.n_entities)
    documents = session.execute(select(*place, analysed, func.count()).where(where).group_by(*place, analysed)).all()
    return entity_rows(cast, fine, spellings, [(*p, bool(a), n) for *p, a, n in documents], monthly=monthly)
