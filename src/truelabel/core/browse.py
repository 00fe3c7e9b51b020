"""The data browser: filtered, sorted pages of items with counts, bulk actions on a selection
or on everything a filter matches, saved views, and one item's whole record.

A browser query is the page's URL query (``docs/browse.md``): the same names and values reach
:func:`parse_query` from the page, the JSON API and a saved view, and every bad value is an
``InvalidInput`` naming the parameter and what it accepts. The SQL and its plan (a sparse
filter drives the query from its index; dense ones are checked while the items are walked;
counts stop at :data:`COUNT_CAP` where an exact count would read the whole project) are in
``store/browse.py``.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

import orjson

from truelabel.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from truelabel.domain.lifecycle import STATES
from truelabel.domain.models import User
from truelabel.domain.roles import role_allows
from truelabel.store import browse as store
from truelabel.store import browse_ops as ops
from truelabel.store import items as item_store
from truelabel.store import projects as project_store
from truelabel.store import qa as qa_store
from truelabel.store import queue

from .context import Service, actor_id

if TYPE_CHECKING:
    from .truth import TruthService

#: a filtered count stops here ("10,000+"); an unfiltered one is exact
COUNT_CAP = 10_000
#: an unfiltered count is exact up to this many items; past it, the size of the id range
EXACT_UPTO = 100_000
#: the most items one bulk action changes (narrow the filter for more)
MAX_BULK = 100_000
PAGE_SIZES = range(1, 501)

REVIEW_OUTCOMES = {"accepted": "accept", "rejected": "reject", "corrected": "correct",
                   "unreviewed": None}
PROGRESS = ("unlabeled", "done")
SORTS = {"id": store.Sort("id"), "-id": store.Sort("id", True),
         "n_done": store.Sort("n_done"), "-n_done": store.Sort("n_done", True)}
BULK_ACTIONS = {"assign": "items.assign", "review": "items.assign",
                "requeue": "items.assign", "delete": "project.edit"}
#: query parameters that reveal others' answers (need ``annotations.read``)
ANSWER_FILTERS = ("annotator", "label", "agreement", "agreement_field", "gt", "review",
                  "annotated_from", "annotated_to")
FILTERS = ("q", "status", "batch", "meta", "imported_from", "imported_to", *ANSWER_FILTERS)
PAGING = ("sort", "after", "before", "limit", "count")
KNOWN = (*FILTERS, *PAGING)


@dataclass(slots=True)
class BrowseQuery:
    """A parsed browser query: the filters (name → value, as given) and the page wanted."""

    filters: dict[str, str] = field(default_factory=dict)
    sort: str = "id"
    after: str | None = None
    before: str | None = None
    limit: int = 50
    count: bool = True

    def text(self) -> str:
        """The filters and sort as a URL query (what a saved view stores)."""
        pairs = sorted(self.filters.items())
        if self.sort != "id":
            pairs.append(("sort", self.sort))
        return urlencode(pairs)


def _bad(name: str, message: str) -> InvalidInput:
    return InvalidInput(f"Bad browser parameter {name!r}: {message}", field=name)


def parse_query(params: Mapping[str, str] | str) -> BrowseQuery:
    """Check a browser query (a mapping or a URL query string) and keep its values."""
    if isinstance(params, str):
        params = dict(parse_qsl(params.lstrip("?"), keep_blank_values=True))
    unknown = sorted(set(params) - set(KNOWN))
    if unknown:
        raise _bad(unknown[0], f"unknown parameter; the browser knows {', '.join(KNOWN)}.")
    out = BrowseQuery()
    for name in FILTERS:
        value = str(params.get(name, "")).strip()
        if value:
            if len(value) > 300:
                raise _bad(name, "longer than 300 characters.")
            out.filters[name] = value
    out.sort = str(params.get("sort") or "id")
    if out.sort not in SORTS:
        raise _bad("sort", f"{out.sort!r} is not a sort; use one of {', '.join(SORTS)}.")
    for name in ("after", "before"):
        pos = params.get(name) or None
        if pos is not None:
            _cursor(str(pos), out.sort, name)
            setattr(out, name, str(pos))
    if out.after and out.before:
        raise _bad("before", "give after (the next page) or before (the previous), not both.")
    try:
        out.limit = int(params.get("limit") or 50)
    except ValueError:
        raise _bad("limit", "not a whole number; give 1 to 500.") from None
    if out.limit not in PAGE_SIZES:
        raise _bad("limit", f"{out.limit} is out of range; give 1 to 500.")
    out.count = str(params.get("count") or "1") not in ("0", "false", "no")
    _check_values(out.filters)
    return out


def _check_values(f: Mapping[str, str]) -> None:
    """The checks that need no database: fixed vocabularies, shapes and dates."""
    status = f.get("status")
    if status and status not in STATES and status not in PROGRESS:
        raise _bad("status", f"{status!r} is not a state; use one of {', '.join(STATES)} "
                   "(or unlabeled, done).")
    review = f.get("review")
    if review and review not in REVIEW_OUTCOMES:
        raise _bad("review", f"use one of {', '.join(REVIEW_OUTCOMES)}.")
    agreement = f.get("agreement")
    if agreement and agreement not in ("agree", "disagree"):
        raise _bad("agreement", "use agree (two or more answers, all the same) or disagree.")
    for name in ("label", "meta"):
        if name in f and "=" not in f[name]:
            raise _bad(name, "write it as field=value (e.g. intent=refund).")
    gt = f.get("gt")
    if gt and gt not in ("has", "none") and "=" not in gt:
        raise _bad("gt", "use has, none or field=value.")
    if "batch" in f and not f["batch"].isdigit():
        raise _bad("batch", "an import batch id (a whole number).")
    for name in ("imported_from", "imported_to", "annotated_from", "annotated_to"):
        if name in f:
            _when(f[name], name)


def _when(value: str, name: str) -> float:
    """A date (``2026-12-03``; a ``_to`` date includes that whole day) or an ISO date-time,
    UTC unless it names its zone, as a Unix time."""
    try:
        if len(value) == 10:
            day = dt.date.fromisoformat(value)
            if name.endswith("_to"):
                day += dt.timedelta(days=1)
            moment = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
        else:
            moment = dt.datetime.fromisoformat(value)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=dt.UTC)
    except ValueError:
        raise _bad(name, f"{value!r} is not a date; write 2026-12-03 or "
                   "2026-12-03T14:30:00.") from None
    return moment.timestamp()


def _cursor(value: str, sort: str, name: str) -> store.Cursor:
    key, _, rest = value.rpartition(".")
    try:
        if SORTS[sort].key == "n_done":
            return store.Cursor(int(rest), int(key))
        if key:
            raise ValueError(value)
        return store.Cursor(int(rest))
    except ValueError:
        raise _bad(name, f"{value!r} is not a page position for sort {sort}; use the "
                   "next_after / prev_before the last page gave.") from None


def _row_cursor(row: Mapping[str, Any], sort: str) -> str:
    if SORTS[sort].key == "n_done":
        return f"{int(row['n_done'])}.{int(row['id'])}"
    return str(int(row["id"]))


class BrowseService(Service):
    """The data browser of one project (``project.browser``)."""

    name = "browser"

    def __init__(self, ctx: Any, *, truth: TruthService) -> None:
        super().__init__(ctx)
        self.truth = truth

    # -- filters to clauses ---------------------------------------------------------------
    def _clauses(self, conn: Any, f: Mapping[str, str], *, role: Any,
                 actor: User | None) -> list[store.Clause]:
        d = conn.dialect.name
        out: list[store.Clause] = []
        if actor is not None and not role_allows(role, "items.read"):
            hidden = [n for n in ANSWER_FILTERS if n in f]
            if hidden:
                raise Forbidden(f"Your role ({role.value}) may not filter by {hidden[0]}: it "
                                "shows others' answers. Ask a manager or a reviewer.")
            out.append(store.assigned_clause(actor.id))
        fields = {s.name for s in self.schema()[1].fields}
        if "q" in f:
            out.append(store.text_clause(d, f["q"]))
        if "status" in f:
            s = f["status"]
            out.append(store.progress_clause(s) if s in PROGRESS else store.state_clause(s))
        if "batch" in f:
            out.append(store.batch_clause(int(f["batch"])))
        if "meta" in f:
            key, _, value = f["meta"].partition("=")
            out.append(store.meta_clause(d, key, value))
        if "imported_from" in f or "imported_to" in f:
            out.append(store.imported_clause(*self._range(f, "imported")))
        if "annotated_from" in f or "annotated_to" in f:
            out.append(store.annotated_clause(*self._range(f, "annotated")))
        if "annotator" in f:
            try:
                user = self.ws.get_user(f["annotator"])
            except NotFound:
                raise _bad("annotator", f"no user {f['annotator']!r}.") from None
            out.append(store.annotator_clause(user.id))
        if "label" in f:
            name, _, value = f["label"].partition("=")
            self._field(name, fields, "label")
            out.append(store.label_clause(d, name, value))
        if "agreement" in f:
            name = f.get("agreement_field") or self.schema()[1].fields[0].name
            self._field(name, fields, "agreement_field")
            out.append(store.agreement_clause(d, name, f["agreement"] == "agree"))
        if "review" in f:
            out.append(store.review_clause(REVIEW_OUTCOMES[f["review"]]))
        if "gt" in f:
            out.append(self._truth_clause(f["gt"], fields, role))
        return out

    @staticmethod
    def _range(f: Mapping[str, str], what: str) -> tuple[float | None, float | None]:
        lo, hi = f.get(f"{what}_from"), f.get(f"{what}_to")
        start = _when(lo, f"{what}_from") if lo else None
        end = _when(hi, f"{what}_to") if hi else None
        return start, end

    @staticmethod
    def _field(name: str, fields: set[str], param: str) -> None:
        if name not in fields:
            raise _bad(param, f"the schema has no field {name!r}; its fields are "
                       f"{', '.join(sorted(fields))}.")

    def _truth_clause(self, gt: str, fields: set[str], role: Any) -> store.Clause:
        if gt in ("has", "none"):
            clause = store.truth_clause(gt == "has")
        else:
            name, _, value = gt.partition("=")
            self._field(name, fields, "gt")
            texts = [orjson.dumps(value).decode()]
            try:
                texts.append(orjson.dumps(orjson.loads(value)).decode())
            except orjson.JSONDecodeError:
                pass
            clause = store.truth_clause(True, name, sorted(set(texts)))
        if role_allows(role, "gold.manage"):
            return clause
        # a gold item's truth is its gold answer: nobody without gold.manage may probe it
        return store.Clause(f"i.is_gold = FALSE AND {clause.pred}", clause.params, None)

    # -- pages ----------------------------------------------------------------------------
    def browse(self, query: Mapping[str, str] | str | BrowseQuery = "", *,
               actor: User | None = None) -> dict[str, Any]:
        """A page of items matching a browser query, with the count ("x–y of N") and the
        positions of the next and previous pages."""
        role = self.require(actor, "project.read")
        bq = query if isinstance(query, BrowseQuery) else parse_query(query)
        cursor = None
        if bq.after:
            cursor = _cursor(bq.after, bq.sort, "after")
        elif bq.before:
            c = _cursor(bq.before, bq.sort, "before")
            cursor = store.Cursor(c.id, c.key, backward=True)
        with self.db.read() as conn:
            clauses = self._clauses(conn, bq.filters, role=role, actor=actor)
            page = store.search(conn, project_id=self.id, clauses=clauses,
                                sort=SORTS[bq.sort], cursor=cursor, limit=bq.limit,
                                cap=COUNT_CAP, exact_upto=EXACT_UPTO, count=bq.count)
            answers = (store.answers_for(conn, (r["id"] for r in page.rows))
                       if role_allows(role, "annotations.read") else None)
        by_item: dict[int, list[dict[str, Any]]] = {}
        for a in answers or ():
            by_item.setdefault(int(a["item_id"]), []).append(
                {"id": a["id"], "annotator": a["username"], "value": orjson.loads(a["value"])})
        for r in page.rows:
            r["data"] = orjson.loads(r["data"])
            r["meta"] = orjson.loads(r["meta"]) if r["meta"] else None
            if answers is not None:
                r["answers"] = by_item.get(int(r["id"]), [])
        backward = cursor is not None and cursor.backward
        more_after = page.more if not backward else True
        more_before = (cursor is not None) if not backward else page.more
        return {
            "items": page.rows,
            "total": page.total if bq.count else None,
            "total_exact": page.exact,
            "total_estimated": page.estimated,
            "next_after": _row_cursor(page.rows[-1], bq.sort) if page.rows and more_after
            else None,
            "prev_before": _row_cursor(page.rows[0], bq.sort) if page.rows and more_before
            else None,
            "sort": bq.sort,
            "query": bq.text(),
            "plan": page.plan,
        }

    # -- bulk actions ---------------------------------------------------------------------
    def bulk(self, action: str, *, item_ids: Sequence[int] | None = None,
             query: Mapping[str, str] | str | None = None, username: str | None = None,
             expect: int | None = None, dry_run: bool = False,
             actor: User | None = None) -> dict[str, Any]:
        """Assign, send to review, re-queue or delete the selected items (``item_ids``) or
        every item a browser ``query`` matches, all or nothing, audited. ``dry_run`` only
        counts them (the page's confirmation); ``expect`` refuses if the count changed."""
        if action not in BULK_ACTIONS:
            raise InvalidInput(f"Unknown bulk action {action!r}; use one of "
                               f"{', '.join(BULK_ACTIONS)}.", field="action")
        role = self.require(actor, BULK_ACTIONS[action])
        if (item_ids is None) == (query is None):
            raise InvalidInput("Give the selected item ids or a filter (query), not both and "
                               "not neither.", field="item_ids")
        target = self.ws.get_user(username) if action == "assign" and username else None
        if action == "assign" and target is None:
            raise InvalidInput("Name the annotator to assign the items to.", field="username")
        if target is not None and self.role_of(target) is None:
            raise InvalidInput(f"{target.username} is not a member of this project; add "
                               "them first.", field="username")
        with self.db.read() as conn:
            if query is not None:
                bq = parse_query(query)
                clauses = self._clauses(conn, bq.filters, role=role, actor=actor)
                ids = store.matching_ids(conn, project_id=self.id, clauses=clauses,
                                         limit=MAX_BULK)
            else:
                ids = sorted(set(int(x) for x in item_ids or ()))
                missing = set(ids) - queue.known_item_ids(conn, self.id, ids)
                if missing:
                    raise NotFound(f"No item {min(missing)} in this project; nothing was "
                                   "changed.")
            states = ops.states_of(conn, ids) if ids else {}
        if len(ids) > MAX_BULK:
            raise InvalidInput(f"The filter matches more than {MAX_BULK:,} items; narrow it "
                               "(one bulk action changes at most that many).", field="query")
        summary = {"action": action, "count": len(ids), "states": states}
        if dry_run:
            return summary
        if expect is not None and expect != len(ids):
            raise Conflict(f"The selection changed: {len(ids)} items match now, not {expect}. "
                           "Look at the count again and confirm.")
        if not ids:
            return summary
        self._check_states(action, states)
        self._apply(action, ids, target, actor, query)
        return summary

    @staticmethod
    def _check_states(action: str, states: Mapping[str, int]) -> None:
        if action == "review":
            wrong = {s: n for s, n in states.items() if s != "submitted"}
            if wrong:
                raise Conflict(f"Only submitted items can be sent to review; {sum(wrong.values())}"
                               f" of these are {', '.join(sorted(wrong))}. Filter by status "
                               "submitted; nothing was changed.")
        if action == "requeue":
            closed = {s: n for s, n in states.items() if s in ("decided", "signed_off")}
            if closed:
                raise Conflict(f"{sum(closed.values())} of these items are decided or signed "
                               "off and are not handed out again; leave them out (filter by "
                               "status). Nothing was changed.")

    def _apply(self, action: str, ids: list[int], target: User | None, actor: User | None,
               query: Mapping[str, str] | str | None) -> None:
        now = time.time()
        uid = actor_id(actor)
        overlap = int(self.ctx._settings()["overlap"])
        detail: dict[str, Any] = {"action": action, "count": len(ids), "ids": ids[:200]}
        if query is not None:
            detail["query"] = parse_query(query).text()
        if target is not None:
            detail["username"] = target.username
        with self.db.write() as conn:
            if action == "assign":
                assert target is not None
                for iid in ids:
                    queue.take_item(conn, project_id=self.id, item_id=iid, user_id=target.id,
                                    overlap=overlap, status="queued", lease_seconds=None,
                                    now=now)
            elif action == "review":
                ops.set_state(conn, ids=ids, state="in_review")
            elif action == "requeue":
                ops.requeue(conn, project_id=self.id, ids=ids, overlap=overlap)
            else:
                ops.delete_items(conn, project_id=self.id, ids=ids)
            if action != "delete":
                item_detail = {"bulk": True, **({"username": target.username} if target else {})}
                ops.audit_items(conn, at=now, user_id=uid, action=f"item.{action}", ids=ids,
                                detail=item_detail)
            project_store.audit(conn, at=now, user_id=uid, action="items.bulk",
                                object_type="project", object_id=self.id, detail=detail)

    # -- saved views ----------------------------------------------------------------------
    def views(self, *, actor: User | None = None) -> list[dict[str, Any]]:
        """The caller's saved views and the project's shared ones."""
        self.require(actor, "items.read")
        with self.db.read() as conn:
            rows = ops.list_views(conn, project_id=self.id,
                                  user_id=actor_id(actor))
        for r in rows:
            r["shared"] = bool(r["shared"])
            r["mine"] = actor is None or r["user_id"] == actor.id
        return rows

    def save_view(self, name: str, query: Mapping[str, str] | str, *, shared: bool = False,
                  actor: User | None = None) -> dict[str, Any]:
        """Save (or replace) a named filter set; ``shared`` shows it to the whole project."""
        self.require(actor, "items.read")
        name = name.strip()
        if not name or len(name) > 100:
            raise InvalidInput("A view needs a name of 1 to 100 characters.", field="name")
        text = parse_query(query).text()
        with self.db.write() as conn:
            vid = ops.save_view(conn, project_id=self.id,
                                user_id=actor_id(actor), name=name,
                                query=text, shared=shared, now=time.time())
        return {"id": vid, "name": name, "query": text, "shared": shared}

    def delete_view(self, view_id: int, *, actor: User | None = None) -> None:
        """Delete a saved view: one's own, or (managers) a shared one."""
        role = self.require(actor, "items.read")
        with self.db.write() as conn:
            row = ops.get_view(conn, project_id=self.id, view_id=view_id)
            mine = row is not None and (actor is None or row["user_id"] == actor.id)
            if row is None or not (mine or row["shared"]):
                raise NotFound(f"No saved view {view_id} in this project.")
            if not mine and not role_allows(role, "project.edit"):
                raise Forbidden("Only its owner or a manager may delete a shared view.")
            ops.delete_view(conn, view_id)

    # -- one item's record ----------------------------------------------------------------
    def item_record(self, item_id: int, *, actor: User | None = None) -> dict[str, Any]:
        """The item page: the item, every answer (superseded ones too), reviews,
        adjudication, ground truth, history. An annotator sees an item given to them and
        only their own answers."""
        role = self.require(actor, "project.read")
        full = role_allows(role, "annotations.read")
        with self.db.read() as conn:
            row = item_store.get_item(conn, self.id, item_id)
            if row is not None and actor is not None and not role_allows(role, "items.read") \
                    and not queue.has_assignment(conn, user_id=actor.id, item_id=item_id):
                row = None
            if row is None:
                raise NotFound(f"No item {item_id} in this project.")
            answers = item_store.item_annotations(conn, project_id=self.id, item_id=item_id,
                                                  current_only=False)
            if not full:
                answers = [a for a in answers if actor is not None and a["user_id"] == actor.id]
            meta = {"imported_at": ops.imported_at(conn, row["batch_id"])}
            state = self._state(conn, item_id)
            extra: dict[str, Any] = {}
            if full:
                extra["reviews"] = qa_store.reviews_for_item(conn, item_id)
                extra["adjudication"] = ops.item_adjudication(conn, item_id)
                extra["history"] = ops.item_history(
                    conn, item_id=item_id, annotation_ids=[a["id"] for a in answers])
        for a in answers:
            a["value"] = orjson.loads(a["value"])
        for h in extra.get("history", ()):
            h["detail"] = orjson.loads(h["detail"]) if h["detail"] else None
        adj = extra.get("adjudication")
        if adj and adj.get("value"):
            adj["value"] = orjson.loads(adj["value"])
        if full and role_allows(role, "quality.read"):
            extra["ground_truth"] = self.truth.ground_truth(item_id=item_id, actor=actor).get(
                item_id, {})
        return {
            "id": row["id"], "external_id": row["external_id"],
            "data": orjson.loads(row["data"]),
            "meta": orjson.loads(row["meta"]) if row["meta"] else None,
            "provenance": {"batch_id": row["batch_id"], "source": row["source"],
                           "line": row["source_line"], **meta},
            "n_taken": row["n_taken"], "n_done": row["n_done"], "state": state,
            "annotations": answers, **extra,
        }

    def _state(self, conn: Any, item_id: int) -> str | None:
        states = ops.states_of(conn, [item_id])
        return next(iter(states), None)
