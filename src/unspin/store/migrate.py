"""The schema's version, and the steps that carry an older database forward with nothing lost.

Version 1 is the layout of two stores in one database: web analyses in `documents`/`spans` (string
ids) and `corpus add` documents in the `corpus_*` tables. Version 2 (`unspin.store.schema`) keeps
both in one set of tables: corpus documents keep their ids and stay reachable at `/a/corpus-<id>`,
web analyses keep theirs as their public ids. Version 3 adds the framing of each document: the
`entity_roles` and `narratives` tables and the documents' `n_entities`/`n_narratives` (None: not
analysed for framing); documents whose JSON already carries `entities` or `narratives` get their rows.
The whole upgrade is one transaction; a process that finds another upgrading waits for it and then
sees the new version.
"""

from __future__ import annotations

from datetime import timezone

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    cast,
    delete,
    insert,
    inspect,
    literal,
    select,
    text,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from unspin.document import Document
from unspin.store.engine import StoreError
from unspin.store.framing import add_framing
from unspin.store.schema import (
    ORIGIN_CORPUS,
    ORIGIN_WEB,
    SCHEMA_VERSION,
    Base,
    ClaimRow,
    CopyLink,
    DocumentRow,
    Embedding,
    EntityRoleRow,
    InputErrorRow,
    NarrativeRow,
    Outlet,
    Run,
    SchemaVersion,
    SentenceRow,
    Signature,
    SpanRow,
)
from unspin.store.writer import CopyTracker, insert_document, primary_ids

# version 1's corpus tables, each with the table of version 2 that takes its rows (columns by name)
CORPUS_TABLES = [
    ("corpus_runs", Run),
    ("corpus_outlets", Outlet),
    ("corpus_documents", DocumentRow),
    ("corpus_spans", SpanRow),
    ("corpus_sentences", SentenceRow),
    ("corpus_claims", ClaimRow),
    ("corpus_errors", InputErrorRow),
    ("corpus_signatures", Signature),
    ("corpus_copy_links", CopyLink),
    ("corpus_embeddings", Embedding),
]
# version 1's web tables, copied aside (same columns, no constraints) before the new tables take the names
_legacy = MetaData()
LEGACY_WEB_DOCUMENTS = Table(
    "legacy_web_documents", _legacy,
    Column("id", String), Column("content_hash", String), Column("source", Text), Column("title", Text),
    Column("outlet", String), Column("published", String), Column("created_at", DateTime), Column("document", JSON),
)  # fmt: skip
LEGACY_WEB_SPANS = Table(
    "legacy_web_spans", _legacy,
    Column("id", Integer), Column("document_id", String), Column("technique", String), Column("start", Integer),
    Column("end", Integer), Column("score", Float),
)  # fmt: skip


def schema_version(conn: Connection) -> int:
    """The version of the database's schema: 0 for a database without unspin's tables."""
    names = set(inspect(conn).get_table_names())
    if SchemaVersion.__tablename__ in names:
        return int(conn.scalar(select(SchemaVersion.version)) or 0)
    if "corpus_documents" in names or _legacy_web(conn, names):
        return 1
    return 0


def _legacy_web(conn: Connection, names: set[str]) -> bool:
    if "documents" not in names:
        return False
    columns = {c["name"] for c in inspect(conn).get_columns("documents")}
    return "public_id" not in columns and {"id", "content_hash", "document", "created_at"} <= columns


def prepare(engine: Engine, writer: Engine) -> None:
    """Bring the database to the current schema (creating it when empty). `writer` begins its
    transactions holding the write lock, so two processes cannot both upgrade."""
    with engine.connect() as conn:
        if schema_version(conn) == SCHEMA_VERSION:
            return
    with writer.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(7235812)"))  # one upgrader at a time
        version = schema_version(conn)
        if version == SCHEMA_VERSION:
            return
        if version > SCHEMA_VERSION:
            raise StoreError(f"the database has schema version {version}; this unspin knows up to {SCHEMA_VERSION}")
        if version == 1:
            _upgrade_two_stores(conn)
        elif version == 2:
            _add_framing_tables(conn)
        else:
            Base.metadata.create_all(conn)
        if version in (1, 2):
            _fill_framing(conn)
        conn.execute(delete(SchemaVersion))
        conn.execute(insert(SchemaVersion).values(id=1, version=SCHEMA_VERSION))


def _add_framing_tables(conn: Connection) -> None:
    """Version 2 to 3: the two framing tables, and the two framing counts of each document."""
    columns = {c["name"] for c in inspect(conn).get_columns("documents")}
    for column in ("n_entities", "n_narratives"):
        if column not in columns:
            conn.execute(text(f"ALTER TABLE documents ADD COLUMN {column} INTEGER"))
    Base.metadata.create_all(conn, tables=[EntityRoleRow.__table__, NarrativeRow.__table__])


def _fill_framing(conn: Connection, batch: int = 500) -> None:
    """Framing rows for stored documents whose JSON carries `entities` or `narratives` and that have
    none yet (the database decides which, so documents without framing are not read)."""
    if conn.dialect.name == "sqlite":
        has = "json_type(document, '$.{0}') = 'array'"
    elif conn.dialect.name == "postgresql":
        has = "json_typeof(document -> '{0}') = 'array'"
    else:
        has = "document IS NOT NULL"
    carries = text(f"(n_entities IS NULL AND {has.format('entities')}) OR "
                   f"(n_narratives IS NULL AND {has.format('narratives')})")  # fmt: skip
    last = 0
    with Session(bind=conn) as session:
        while True:
            rows = session.scalars(
                select(DocumentRow).where(DocumentRow.id > last, carries).order_by(DocumentRow.id).limit(batch)
            ).all()
            if not rows:
                break
            for row in rows:
                data = row.document if isinstance(row.document, dict) else {}
                add_framing(
                    session,
                    row,
                    data.get("entities") if row.n_entities is None else None,
                    data.get("narratives") if row.n_narratives is None else None,
                )
            last = rows[-1].id
            session.flush()
            session.expunge_all()


def _upgrade_two_stores(conn: Connection) -> None:
    names = set(inspect(conn).get_table_names())
    web = _legacy_web(conn, names)
    if web:
        conn.execute(text("CREATE TABLE legacy_web_documents AS SELECT * FROM documents"))
        if "spans" in names:
            conn.execute(text("CREATE TABLE legacy_web_spans AS SELECT * FROM spans"))
            conn.execute(text("DROP TABLE spans"))
        else:
            LEGACY_WEB_SPANS.create(conn)
        conn.execute(text("DROP TABLE documents"))
    Base.metadata.create_all(conn)
    for old_name, new in CORPUS_TABLES:
        if old_name in names:
            _copy_table(conn, old_name, new.__table__)
    if conn.dialect.name == "postgresql":
        _continue_sequences(conn)  # rows were copied with their ids; new rows must not reuse them
    if web:
        _move_web_analyses(conn)
    for old_name, _ in reversed(CORPUS_TABLES):
        if old_name in names:
            conn.execute(text(f"DROP TABLE {old_name}"))
    if web:
        conn.execute(text("DROP TABLE legacy_web_spans"))
        conn.execute(text("DROP TABLE legacy_web_documents"))


def _continue_sequences(conn: Connection) -> None:
    for table in Base.metadata.sorted_tables:
        if "id" in table.c and table.c.id.autoincrement is not False and table.name != SchemaVersion.__tablename__:
            conn.execute(text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"
            ))  # fmt: skip


def _copy_table(conn: Connection, old_name: str, new: Table) -> None:
    """INSERT ... SELECT of every column the two tables share; the new columns get their values here."""
    old = Table(old_name, MetaData(), autoload_with=conn)
    shared = [c.name for c in new.columns if c.name in old.c]
    values = [old.c[name] for name in shared]
    if new.name == "documents":
        shared += ["public_id", "origin"]
        values += [literal("corpus-", String) + cast(old.c.id, String), literal(ORIGIN_CORPUS, String)]
    elif new.name == "signatures":
        shared.append("linked")
        values.append(literal(True))
    conn.execute(insert(new).from_select(shared, select(*values)))


def _move_web_analyses(conn: Connection) -> None:
    """Each web analysis becomes a document of origin web with its old id as public id: a primary when
    its text is not stored yet (signed and linked to its copies), else a duplicate of the primary."""
    tracker = CopyTracker()
    with Session(bind=conn) as session:
        tracker.refresh(session)
        rows = session.execute(
            select(LEGACY_WEB_DOCUMENTS).order_by(LEGACY_WEB_DOCUMENTS.c.created_at, LEGACY_WEB_DOCUMENTS.c.id)
        ).all()
        spans: dict[str, list[tuple[str, int, int, float]]] = {}
        for s in session.execute(select(LEGACY_WEB_SPANS).order_by(LEGACY_WEB_SPANS.c.id)):
            spans.setdefault(s.document_id, []).append((s.technique, s.start, s.end, float(s.score)))
        for row in rows:
            doc = Document.from_dict(row.document)
            primary = primary_ids(session, [doc.content_hash]).get(doc.content_hash)
            added = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=timezone.utc)
            new = insert_document(session, doc, origin=ORIGIN_WEB, public_id=row.id, added_at=added,
                                  duplicate_of=primary, spans=spans.get(row.id, []), data=row.document)  # fmt: skip
            if primary is None:
                tracker.add(session, new.id, doc)
        session.flush()
