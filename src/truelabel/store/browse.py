"""The data browser's SQL: filters, sort, keyset pages and counts over a project's items.

Each filter is a :class:`Clause`: a condition on the item row ``i`` (usually a correlated
``EXISTS`` probing an index by item id) and, where an index lists the matching item ids
directly, that list as a subquery (``ids``). A page is planned per request:

- every clause with ``ids`` is probed first (its distinct ids counted up to ``cap + 1``, an
  index range read that stops early);
- a clause with at most ``cap`` ids is *sparse*: the smallest one drives the query
  (``i.id IN (ids)``), the others are checked on its rows, and the count is exact;
- otherwise every clause is *dense*: items are walked in the sort order and the conditions
  checked until the page is full (a dense filter fills it quickly), and the count stops at
  ``cap`` ("10,000+") or, reading no further than the first ``budget`` items, is
  scaled up to an estimate ("≈ 31,000").

Filters without an index (a label value, agreement, metadata, text) are always walked; a
rare value of one of them on a large project is the slow case (``bench/bench_browse.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from .db import sql

#: the columns of a browser row
ROW_COLS = (
    "i.id, i.external_id, i.data, i.meta, i.n_taken, i.n_done, i.batch_id, i.source_line, "
    "i.state"
)


@dataclass(frozen=True, slots=True)
class Clause:
    """One filter: ``pred`` a condition on ``i``; ``ids`` a subquery of the matching item ids
    (column ``item_id``, perhaps more: ``pred`` is checked too) read from an index, if there
    is one."""

    pred: str
    params: dict[str, Any] = field(default_factory=dict)
    ids: str | None = None


@dataclass(frozen=True, slots=True)
class Sort:
    """The order of a page: ``key`` ``id`` or ``n_done`` (then id), ``desc`` for newest /
    most first."""

    key: str = "id"
    desc: bool = False


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a page starts: after (or, ``backward``, before) the row ``(key, id)``."""

    id: int
    key: int | None = None
    backward: bool = False


@dataclass(slots=True)
class Page:
    rows: list[dict[str, Any]]
    total: int
    exact: bool
    more: bool  # another page lies beyond this one in the direction read
    plan: str  # "driven" (a sparse filter's index), "walk" (the sort order) or "all"
    estimated: bool = False  # total scaled up from the first ``budget`` items


def _path(dialect: str, key: str) -> str:
    if dialect == "postgresql":
        return key
    return '$."' + key.replace('"', '""') + '"'


# -- the filters ---------------------------------------------------------------------------

CURRENT = "a.item_id = i.id AND a.is_current = TRUE"


def text_clause(dialect: str, q: str) -> Clause:
    like = "ILIKE" if dialect == "postgresql" else "LIKE"  # case-insensitive
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return Clause(
        f"(i.data {like} :q ESCAPE '\\' OR i.external_id {like} :q ESCAPE '\\')",
        {"q": f"%{escaped}%"},
    )


def state_clause(state: str) -> Clause:
    return Clause("i.state = :st", {"st": state},
                  "SELECT id AS item_id FROM items WHERE project_id = :p AND state = :st")


def progress_clause(progress: str) -> Clause:
    """The counters' view: ``unlabeled`` (nobody took it), ``done`` (every taker answered)."""
    if progress == "unlabeled":
        return Clause("i.n_done = 0 AND i.n_taken = 0")
    return Clause("i.n_done > 0 AND i.n_taken = i.n_done")


def batch_clause(batch_id: int) -> Clause:
    return Clause("i.batch_id = :b", {"b": batch_id},
                  "SELECT id AS item_id FROM items WHERE batch_id = :b")


def assigned_clause(user_id: int) -> Clause:
    """Items given to this user (what an annotator may see)."""
    return Clause(
        "EXISTS (SELECT 1 FROM assignments s WHERE s.item_id = i.id AND s.user_id = :u "
        "AND s.status <> 'expired')",
        {"u": user_id},
        "SELECT item_id FROM assignments WHERE user_id = :u AND project_id = :p "
        "AND status <> 'expired'",
    )


def meta_clause(dialect: str, key: str, value: str) -> Clause:
    """The item's metadata field ``key`` (slice metadata given at import, else a field of the
    item's own data, such as a CSV column) has ``value``."""
    if dialect == "postgresql":
        return Clause("COALESCE(CAST(i.meta AS jsonb) ->> :mk, CAST(i.data AS jsonb) ->> :mk) "
                      "= :mv", {"mk": key, "mv": value})
    return Clause("CAST(COALESCE(json_extract(i.meta, :mk), json_extract(i.data, :mk)) AS TEXT) "
                  "= :mv", {"mk": _path(dialect, key), "mv": value})


def annotator_clause(user_id: int) -> Clause:
    return Clause(
        f"EXISTS (SELECT 1 FROM annotations a WHERE {CURRENT} AND a.user_id = :au)",
        {"au": user_id},
        "SELECT item_id FROM annotations WHERE project_id = :p AND user_id = :au",
    )


def label_clause(dialect: str, name: str, value: str) -> Clause:
    """A current answer whose field ``name`` is ``value``, holds it (a list) or has a span
    labelled with it.

    The answer's raw JSON must contain the value's text first (a cheap substring test that
    spares the JSON walk of nearly every answer when the value is rare); skipped for values
    JSON may escape (non-ASCII, quotes, backslashes, control characters)."""
    params = {"lf": _path(dialect, name), "lv": value}
    plain = value.isascii() and value.isprintable() and not any(ch in value for ch in '"\\')
    if dialect == "postgresql":
        x = "(CAST(a.value AS jsonb) -> :lf)"
        match = (
            f"EXISTS (SELECT 1 FROM jsonb_array_elements(CASE jsonb_typeof({x}) WHEN 'array' "
            f"THEN {x} ELSE jsonb_build_array({x}) END) e WHERE e #>> '{{}}' = :lv OR "
            "(jsonb_typeof(e) = 'object' AND e ->> 'label' = :lv))"
        )
        quick = "strpos(a.value, :lv) > 0 AND " if plain else ""
    else:
        match = (
            "EXISTS (SELECT 1 FROM json_each(a.value, :lf) j WHERE CAST(j.value AS TEXT) = :lv "
            "OR (j.type = 'object' AND json_extract(j.value, '$.label') = :lv))"
        )
        quick = "instr(a.value, :lv) > 0 AND " if plain else ""
    return Clause(f"EXISTS (SELECT 1 FROM annotations a WHERE {CURRENT} AND {quick}{match})",
                  params)


def agreement_clause(dialect: str, name: str, agree: bool) -> Clause:
    """Items with two or more current answers that all give field ``name`` the same value
    (``agree``), or not all the same (disagree)."""
    if dialect == "postgresql":
        value = "COALESCE(CAST(a.value AS jsonb) -> :gf, CAST('null' AS jsonb))"
    else:
        value = "COALESCE(json_extract(a.value, :gf), '')"
    test = "= 1" if agree else "> 1"
    return Clause(
        f"(SELECT COUNT(*) >= 2 AND COUNT(DISTINCT {value}) {test} FROM annotations a "
        f"WHERE {CURRENT})",
        {"gf": _path(dialect, name)},
    )


def review_clause(decision: str | None) -> Clause:
    """Items with a review of this decision (accept, reject, correct); ``None``: answered
    items nobody reviewed."""
    if decision is None:
        return Clause(
            f"EXISTS (SELECT 1 FROM annotations a WHERE {CURRENT}) AND NOT EXISTS "
            "(SELECT 1 FROM reviews r WHERE r.item_id = i.id)"
        )
    return Clause(
        "EXISTS (SELECT 1 FROM reviews r WHERE r.item_id = i.id AND r.decision = :rd)",
        {"rd": decision},
        "SELECT item_id FROM reviews WHERE project_id = :p AND decision = :rd",
    )


def truth_clause(has: bool, name: str | None = None, values: Sequence[str] = ()) -> Clause:
    """Items with (``has``) or without ground truth; with ``name``, for that field, and with
    ``values``, one of these JSON texts."""
    cond, params = "", {}
    if name is not None:
        cond += " AND g.field = :gf2"
        params["gf2"] = name
    if values:
        marks = ", ".join(f":gv{n}" for n in range(len(values)))
        cond += f" AND g.value IN ({marks})"
        params.update({f"gv{n}": v for n, v in enumerate(values)})
    pred = f"EXISTS (SELECT 1 FROM ground_truth g WHERE g.item_id = i.id{cond})"
    if not has:
        return Clause(f"NOT {pred}", params)
    return Clause(pred, params,
                  f"SELECT g.item_id FROM ground_truth g WHERE g.project_id = :p{cond}")


def imported_clause(start: float | None, end: float | None) -> Clause:
    cond, params = _range("b.created_at", "im", start, end)
    batches = f"SELECT b.id FROM import_batches b WHERE b.project_id = :p{cond}"
    return Clause(f"i.batch_id IN ({batches})", params,
                  f"SELECT id AS item_id FROM items WHERE batch_id IN ({batches})")


def annotated_clause(start: float | None, end: float | None) -> Clause:
    """Items with a current answer submitted in the range."""
    cond, params = _range("a.created_at", "an", start, end)
    return Clause(
        f"EXISTS (SELECT 1 FROM annotations a WHERE {CURRENT}{cond})", params,
        f"SELECT a.item_id FROM annotations a WHERE a.project_id = :p{cond}",
    )


def _range(column: str, prefix: str, start: float | None, end: float | None
           ) -> tuple[str, dict[str, Any]]:
    cond, params = "", {}
    if start is not None:
        cond += f" AND {column} >= :{prefix}0"
        params[f"{prefix}0"] = start
    if end is not None:
        cond += f" AND {column} < :{prefix}1"
        params[f"{prefix}1"] = end
    return cond, params


# -- the query -----------------------------------------------------------------------------


def _order(sort: Sort, reverse: bool) -> str:
    """The ORDER BY of a page; ``reverse`` reads backwards (the rows are turned round)."""
    key = " DESC" if sort.desc != reverse else ""
    if sort.key == "n_done":  # ties by id, ascending
        return f"i.n_done{key}, i.id{' DESC' if reverse else ''}"
    return f"i.id{key}"


def _after(sort: Sort, cursor: Cursor) -> tuple[str, dict[str, Any]]:
    forward = not cursor.backward
    if sort.key == "n_done":
        up = (not sort.desc) == forward  # the key grows in the reading direction
        op_k = ">" if up else "<"
        op_id = ">" if forward else "<"
        return (f"(i.n_done {op_k} :ck OR (i.n_done = :ck AND i.id {op_id} :cid))",
                {"ck": cursor.key or 0, "cid": cursor.id})
    op = ">" if (not sort.desc) == forward else "<"
    return f"i.id {op} :cid", {"cid": cursor.id}


def _probe(conn: Connection, clause: Clause, params: dict[str, Any], cap: int) -> int:
    """How many distinct items ``clause.ids`` lists, counted up to ``cap + 1``."""
    q = f"SELECT COUNT(*) FROM (SELECT DISTINCT item_id FROM ({clause.ids}) x LIMIT :cap) y"
    return int(conn.execute(sql(q), {**params, "cap": cap + 1}).scalar_one())


def _driver(conn: Connection, clauses: Sequence[Clause], params: dict[str, Any], cap: int
            ) -> tuple[Clause | None, int | None]:
    """The sparsest clause with at most ``cap`` ids (None: all are dense or unindexed), and
    the probed size of a lone indexed clause."""
    driver: Clause | None = None
    smallest = cap + 1
    sized = None
    for c in clauses:
        if c.ids is None:
            continue
        n = _probe(conn, c, params, cap)
        if n <= cap and n < smallest:
            driver, smallest = c, n
        if len(clauses) == 1:
            sized = n
    return driver, sized


def search(
    conn: Connection,
    *,
    project_id: int,
    clauses: Sequence[Clause],
    sort: Sort = Sort(),  # noqa: B008  # frozen
    cursor: Cursor | None = None,
    limit: int = 50,
    cap: int = 10_000,
    budget: int = 10_000,
    exact_upto: int = 100_000,
    count: bool = True,
) -> Page:
    """One page of the project's items matching every clause, and their count."""
    params: dict[str, Any] = {"p": project_id}
    for c in clauses:
        params.update(c.params)
    driver, sized = _driver(conn, clauses, params, cap)
    # walking, the items are read in the sort order (the primary key), not through an index
    # that starts with project_id (SQLite would take one and sort the whole project): the
    # unary plus keeps SQLite off those indexes and means nothing to PostgreSQL
    where = ["+i.project_id = :p"]
    if driver is not None:  # its ids may be a superset (an index without every condition)
        where.append(f"i.id IN ({driver.ids})")
    where += [c.pred for c in clauses]
    page_where = list(where)
    page_params = dict(params)
    if cursor is not None:
        cond, extra = _after(sort, cursor)
        page_where.append(cond)
        page_params.update(extra)
    reverse = cursor is not None and cursor.backward
    rows = [
        dict(r._mapping)
        for r in conn.execute(
            sql(f"SELECT {ROW_COLS} FROM items i WHERE {' AND '.join(page_where)} "
                f"ORDER BY {_order(sort, reverse)} LIMIT :lim"),
            {**page_params, "lim": limit + 1},
        )
    ]
    more = len(rows) > limit
    rows = rows[:limit]
    if reverse:
        rows.reverse()
    plan = "driven" if driver is not None else ("walk" if clauses else "all")
    if not count:
        return Page(rows, -1, False, more, plan)
    if not clauses:  # exact up to ``exact_upto`` items; past them, the id range's size
        far = _nth_id(conn, project_id, exact_upto)
        if far is None:
            total = int(conn.execute(sql("SELECT COUNT(*) FROM items WHERE project_id = :p"),
                                     {"p": project_id}).scalar_one())
            return Page(rows, total, True, more, plan)
        first, last = _ends(conn, project_id)
        return Page(rows, last - first + 1, False, more, plan, estimated=True)
    if driver is not None:
        if len(clauses) == 1 and sized is not None:
            return Page(rows, sized, True, more, plan)
        total = int(conn.execute(
            sql(f"SELECT COUNT(*) FROM items i WHERE {' AND '.join(where)}"), params
        ).scalar_one())
        return Page(rows, total, True, more, plan)
    if sized is not None:  # one dense indexed filter: past the cap
        return Page(rows, cap, False, more, plan)
    # walking: count among the first ``budget`` items only (a rare value of an unindexed
    # filter would otherwise read the whole project) and scale up by the share of the
    # project's id range they cover: an estimate, said so
    bound = _nth_id(conn, project_id, budget)
    limited = [*where, "i.id < :bound"] if bound is not None else where
    total = int(conn.execute(
        sql(f"SELECT COUNT(*) FROM (SELECT 1 FROM items i WHERE {' AND '.join(limited)} "
            "LIMIT :cap) x"), {**params, "cap": cap + 1, "bound": bound}
    ).scalar_one())
    if bound is None or total > cap:
        return Page(rows, min(total, cap), total <= cap, more, plan)
    first, last = _ends(conn, project_id)
    share = (int(bound) - first) / max(last - first + 1, 1)
    return Page(rows, round(total / share) if share > 0 else total, False, more, plan,
                estimated=True)


def _nth_id(conn: Connection, project_id: int, n: int) -> int | None:
    """The id of the project's item after its first ``n`` (None: it has no more)."""
    found = conn.execute(sql(
        "SELECT id FROM items WHERE +project_id = :p ORDER BY id LIMIT 1 OFFSET :n"),
        {"p": project_id, "n": n}).scalar()
    return None if found is None else int(found)


def _ends(conn: Connection, project_id: int) -> tuple[int, int]:
    """The project's first and last item id."""
    ends = "SELECT id FROM items WHERE +project_id = :p ORDER BY id {} LIMIT 1"
    first = conn.execute(sql(ends.format("")), {"p": project_id}).scalar()
    last = conn.execute(sql(ends.format("DESC")), {"p": project_id}).scalar()
    return int(first or 0), int(last or 0)


def matching_ids(
    conn: Connection, *, project_id: int, clauses: Sequence[Clause], limit: int
) -> list[int]:
    """Every matching item id in id order, at most ``limit`` + 1 (the caller refuses more)."""
    params: dict[str, Any] = {"p": project_id, "lim": limit + 1}
    for c in clauses:
        params.update(c.params)
    driver, _ = _driver(conn, clauses, params, 10_000)
    drive = [f"i.id IN ({driver.ids})"] if driver is not None else []
    where = " AND ".join(["+i.project_id = :p", *drive, *(c.pred for c in clauses)])
    return [int(r[0]) for r in conn.execute(
        sql(f"SELECT i.id FROM items i WHERE {where} ORDER BY i.id LIMIT :lim"), params)]


def answers_for(conn: Connection, item_ids: Iterable[int]) -> list[dict[str, Any]]:
    """The current answers of these items (a page's worth) with their annotators' names."""
    ids = [int(x) for x in item_ids]
    if not ids:
        return []
    marks = ", ".join(str(x) for x in ids)  # integers, checked above
    return [dict(r._mapping) for r in conn.execute(sql(
        "SELECT a.item_id, a.id, u.username, a.value FROM annotations a "
        f"JOIN users u ON u.id = a.user_id WHERE a.item_id IN ({marks}) "
        "AND a.is_current = TRUE ORDER BY a.item_id, a.id"))]
