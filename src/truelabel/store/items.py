"""Items: bulk insert, browsing with keyset pagination, and streaming reads for export."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection

from truelabel.domain.results import ProjectStatus

from . import fast
from .db import sql

ItemRow = tuple[str | None, bytes, str, str | None, int]
"""(external_id, content_hash, data_json, meta_json, source_line)"""


def insert_items(
    conn: Connection, rows: Sequence[ItemRow], *, project_id: int, batch_id: int
) -> int:
    """Insert one import batch's items, ignoring any whose external id or content hash is
    already stored.

    Returns the number of rows actually added.
    """
    if not rows:
        return 0
    # the two ids are the same for every row: bound once, as integer literals
    cols = "(project_id, batch_id, external_id, content_hash, data, meta, source_line)"
    ids = f"{int(project_id)}, {int(batch_id)}"
    if conn.dialect.name == "sqlite":
        sql = f"INSERT OR IGNORE INTO items {cols} VALUES ({ids}, ?, ?, ?, ?, ?)"
    else:
        sql = (f"INSERT INTO items {cols} VALUES ({ids}, %s, %s, %s, %s, %s) "
               "ON CONFLICT DO NOTHING")
    result = conn.exec_driver_sql(sql, rows if isinstance(rows, list) else list(rows))
    return max(int(result.rowcount), 0)


StoredKey = tuple[bytes, int | None, int | None]
"""(content_hash, batch_id, source_line) of a stored item."""

_LOOKUP_CHUNK = 2_000


def stored_keys(
    conn: Connection, project_id: int, *, ids: Sequence[str] = (), hashes: Sequence[bytes] = ()
) -> tuple[dict[str, StoredKey], dict[bytes, StoredKey]]:
    """The stored items with these external ids, and the id-less items with these content
    hashes: what an import compares skipped records with (indexed lookups, in chunks, on the
    driver's cursor: a re-import looks up every row)."""
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    head = ("SELECT {key}, content_hash, batch_id, source_line FROM items "
            f"WHERE project_id = {mark} AND ")
    found: list[dict[Any, StoredKey]] = [{}, {}]
    lookups: list[tuple[list[Any], str, str]] = [
        (list(dict.fromkeys(ids)), "external_id", "external_id IN ({})"),
        (list(dict.fromkeys(hashes)), "content_hash",
         "external_id IS NULL AND content_hash IN ({})"),
    ]
    cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    for out, (keys, col, cond) in zip(found, lookups, strict=True):
        for start in range(0, len(keys), _LOOKUP_CHUNK):
            chunk = keys[start:start + _LOOKUP_CHUNK]
            cur.execute(head.format(key=col) + cond.format(", ".join([mark] * len(chunk))),
                        (project_id, *chunk))
            for key, digest, batch, line in cur.fetchall():
                out[bytes(key) if col == "content_hash" else key] = (bytes(digest), batch, line)
    return found[0], found[1]


def replace_items(
    conn: Connection, rows: Sequence[ItemRow], *, project_id: int, batch_id: int
) -> int:
    """Give the items with these external ids the rows' content, metadata and provenance
    (an import's ``on_conflict="keep-last"``); returns how many were replaced."""
    n = 0
    stmt = sql("UPDATE items SET content_hash = :h, data = :d, meta = :m, batch_id = :b, "
               "source_line = :l WHERE project_id = :p AND external_id = :e")
    for ext, digest, data, meta, line in rows:
        n += conn.execute(stmt, {"h": digest, "d": data, "m": meta, "b": batch_id, "l": line,
                                 "p": project_id, "e": ext}).rowcount
    return n


def get_item(conn: Connection, project_id: int, item_id: int) -> dict[str, Any] | None:
    return fast.one(
        conn,
        "SELECT i.id, i.external_id, i.data, i.meta, i.batch_id, i.source_line, i.n_taken, "
        "i.n_done, i.state, b.source FROM items i LEFT JOIN import_batches b ON b.id = i.batch_id "
        "WHERE i.id = :id AND i.project_id = :p",
        {"id": item_id, "p": project_id},
    )


def browse(
    conn: Connection,
    *,
    project_id: int,
    after_id: int = 0,
    limit: int = 50,
    search: str | None = None,
    status: str | None = None,
    batch_id: int | None = None,
    user_id: int | None = None,
    meta: tuple[str, str] | None = None,
) -> list[dict[str, Any]]:
    """One page of items after ``after_id`` (keyset pagination: constant time per page).

    ``status`` is ``unlabeled``, ``in_progress`` or ``done``; ``user_id`` limits the page to
    items assigned to that user (what an annotator may see); ``meta`` (key, value) to items
    whose slice metadata has that value.
    """
    where = ["i.project_id = :p", "i.id > :after"]
    params: dict[str, Any] = {"p": project_id, "after": after_id, "limit": limit}
    if search:
        like = "ILIKE" if conn.dialect.name == "postgresql" else "LIKE"  # case-insensitive
        where.append(f"(i.data {like} :q ESCAPE '\\' OR i.external_id {like} :q ESCAPE '\\')")
        escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params["q"] = f"%{escaped}%"
    if status == "unlabeled":
        where.append("i.n_done = 0 AND i.n_taken = 0")
    elif status == "in_progress":
        where.append("i.n_taken > i.n_done")
    elif status == "done":
        where.append("i.n_done > 0 AND i.n_taken = i.n_done")
    if batch_id is not None:
        where.append("i.batch_id = :b")
        params["b"] = batch_id
    if meta is not None:
        if conn.dialect.name == "postgresql":
            where.append("CAST(i.meta AS jsonb) ->> :mk = :mv")
            params["mk"] = meta[0]
        else:
            where.append("CAST(json_extract(i.meta, :mk) AS TEXT) = :mv")
            params["mk"] = '$."' + meta[0] + '"'
        params["mv"] = meta[1]
    if user_id is not None:
        where.append(
            "EXISTS (SELECT 1 FROM assignments a WHERE a.item_id = i.id AND a.user_id = :u "
            "AND a.status <> 'expired')"
        )
        params["u"] = user_id
    query = (
        "SELECT i.id, i.external_id, i.data, i.meta, i.n_taken, i.n_done, i.batch_id, "
        f"i.source_line FROM items i WHERE {' AND '.join(where)} ORDER BY i.id LIMIT :limit"
    )
    return [dict(r._mapping) for r in conn.execute(sql(query), params)]


def counts(conn: Connection, project_id: int) -> ProjectStatus:
    row = conn.execute(
        sql(
            "SELECT COUNT(*) AS items, "
            "COALESCE(SUM(CASE WHEN n_done > 0 THEN 1 ELSE 0 END), 0) AS labeled, "
            "COALESCE(SUM(CASE WHEN n_taken > n_done THEN 1 ELSE 0 END), 0) AS in_progress, "
            "COALESCE(SUM(n_done), 0) AS submitted "
            "FROM items WHERE project_id = :p"
        ),
        {"p": project_id},
    ).one()
    return cast(ProjectStatus, {k: int(v) for k, v in row._mapping.items()})


def iter_export_batches(
    conn: Connection, project_id: int, *, batch_size: int = 50_000, only_labeled: bool = False
) -> Iterator[ExportBatch]:
    """Yield one :class:`ExportBatch` per ``batch_size`` items, in item id order.

    Keyset pagination keeps each query a bounded, indexed range scan.
    """
    labeled = " AND n_done > 0" if only_labeled else ""
    item_sql = sql(
        "SELECT id, external_id, data, meta FROM items WHERE project_id = :p AND id > :last"
        f"{labeled} ORDER BY id LIMIT :n"
    )
    ann_sql = sql(
        "SELECT a.item_id, a.id, u.username, a.value, a.created_at, sv.version, a.origin "
        "FROM annotations a JOIN users u ON u.id = a.user_id "
        "JOIN schema_versions sv ON sv.id = a.schema_version_id "
        "WHERE a.project_id = :p AND a.item_id > :lo AND a.item_id <= :hi "
        "AND a.is_current = TRUE ORDER BY a.item_id, a.id"
    )
    gt_sql = sql(
        "SELECT item_id, field, value, confidence, method FROM ground_truth "
        "WHERE project_id = :p AND item_id > :lo AND item_id <= :hi ORDER BY item_id, field"
    )
    gold_sql = sql(
        "SELECT item_id, value FROM gold WHERE project_id = :p AND item_id > :lo AND item_id <= :hi"
    )
    last = 0
    while True:
        rows = [
            tuple(r)
            for r in conn.execute(item_sql, {"p": project_id, "last": last, "n": batch_size})
        ]
        if not rows:
            return
        rng = {"p": project_id, "lo": last, "hi": rows[-1][0]}
        yield ExportBatch(
            items=rows,
            annotations=[tuple(r) for r in conn.execute(ann_sql, rng)],
            ground_truth=[tuple(r) for r in conn.execute(gt_sql, rng)],
            gold={int(r[0]): r[1] for r in conn.execute(gold_sql, rng)},
        )
        last = rows[-1][0]


@dataclass(slots=True)
class ExportBatch:
    """items: (id, external_id, data JSON); annotations: (item_id, id, annotator, value JSON,
    created_at, schema_version, origin), current only, by item then id; ground_truth:
    (item_id, field, value JSON, confidence, method); gold: item id → answer JSON."""

    items: list[tuple[Any, ...]]
    annotations: list[tuple[Any, ...]]
    ground_truth: list[tuple[Any, ...]]
    gold: dict[int, str]


def item_annotations(
    conn: Connection, *, project_id: int, item_id: int, current_only: bool = True
) -> list[dict[str, Any]]:
    rows = conn.execute(
        sql(
            "SELECT a.id, a.user_id, u.username, a.value, a.created_at, sv.version AS "
            "schema_version, a.supersedes_id, a.is_current, a.time_spent_ms, a.origin, "
            "a.assignment_id FROM annotations a JOIN users u ON u.id = a.user_id "
            "JOIN schema_versions sv ON sv.id = a.schema_version_id "
            "WHERE a.item_id = :i AND a.project_id = :p"
            + (" AND a.is_current = TRUE" if current_only else "")
            + " ORDER BY a.id"
        ),
        {"i": item_id, "p": project_id},
    ).all()
    return [dict(r._mapping) for r in rows]


def get_annotation(
    conn: Connection, *, project_id: int, annotation_id: int
) -> dict[str, Any] | None:
    row = conn.execute(
        sql(
            "SELECT id, item_id, user_id, assignment_id, is_current FROM annotations "
            "WHERE id = :id AND project_id = :p"
        ),
        {"id": annotation_id, "p": project_id},
    ).first()
    return dict(row._mapping) if row else None
