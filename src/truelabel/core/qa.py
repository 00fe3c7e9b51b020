"""Quality assurance on a project: workflow, gold, review, adjudication, ground truth.

Mixed into :class:`~truelabel.core.project.Project`; the numbers come from the pure engines in
``truelabel.quality``, the rows from ``truelabel.store.qa``.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
import warnings
from collections import Counter, defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from truelabel import quality as q
from truelabel.domain.errors import (
    AnnotationInvalid,
    Conflict,
    ImportFailed,
    InvalidInput,
    NotFound,
)
from truelabel.domain.fields import (
    ChoiceField,
    FieldSpec,
    MultiChoiceField,
    RatingField,
    SpansField,
)
from truelabel.domain.models import User
from truelabel.domain.roles import Role, role_allows
from truelabel.domain.workflow import Workflow
from truelabel.formats.readers import detect_format, open_records
from truelabel.store import projects as project_store
from truelabel.store import qa as qa_store
from truelabel.store import queue

if TYPE_CHECKING:
    from truelabel.domain.schema import LabelSchema
    from truelabel.store.db import Database

METHODS = ("majority", "weighted", "dawid_skene", "gold_dawid_skene")
_CATEGORICAL = (ChoiceField, MultiChoiceField, RatingField)


def label_of(field: FieldSpec, value: Any) -> Any:
    """A hashable label for a categorical field value (multi-choice: ``'a|b'``)."""
    if isinstance(field, MultiChoiceField):
        return "|".join(value) if value else "(none)"
    return value


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float] | None:
    """Wilson score interval for a proportion k/n."""
    if n == 0:
        return None
    p = k / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / den
    return (max(0.0, mid - half), min(1.0, mid + half))


def _quality_error(exc: Exception) -> InvalidInput:
    return InvalidInput(str(exc))


class QualityMixin:
    """Quality-assurance methods of a Project (see the module docstring)."""

    id: int
    db: Database

    if TYPE_CHECKING:

        def require(self, actor: User | None, permission: str) -> Role: ...
        def schema(self) -> tuple[int, LabelSchema]: ...
        def _settings(self) -> dict[str, Any]: ...
        def annotations(
            self, item_id: int, *, current_only: bool = True
        ) -> list[dict[str, Any]]: ...
        def _item_data(self, item_id: int) -> dict[str, Any] | None: ...
        def status(self, *, actor: User | None = None) -> dict[str, Any]: ...

    # -- workflow settings ----------------------------------------------------------------
    def workflow(self) -> Workflow:
        raw = json.loads(self._settings().get("settings") or "{}")
        return Workflow.model_validate(raw.get("workflow", {}))

    def set_workflow(self, *, actor: User | None = None, **changes: Any) -> Workflow:
        """Change workflow settings (see :class:`~truelabel.domain.workflow.Workflow`)."""
        self.require(actor, "project.edit")
        from pydantic import ValidationError

        current = self.workflow().model_dump()
        unknown = set(changes) - set(current)
        if unknown:
            raise InvalidInput(
                f"Unknown workflow settings {sorted(unknown)}; known: {sorted(current)}."
            )
        try:
            wf = Workflow.model_validate({**current, **changes})
        except ValidationError as exc:
            e = exc.errors()[0]
            where = ".".join(str(p) for p in e["loc"])
            raise InvalidInput(f"workflow {where}: {e['msg']}", field=where) from None
        with self.db.write() as conn:
            row = project_store.get_project(conn, project_id=self.id)
            assert row is not None
            settings = json.loads(row["settings"] or "{}")
            settings["workflow"] = wf.model_dump(mode="json")
            project_store.update_project(conn, self.id, settings=json.dumps(settings))
            project_store.audit(
                conn,
                at=time.time(),
                user_id=actor.id if actor else None,
                action="workflow.set",
                object_type="project",
                object_id=self.id,
                detail=changes,
            )
        return wf

    # -- gold -----------------------------------------------------------------------------
    def set_gold(
        self, item_id: int, value: dict[str, Any], *, actor: User | None = None, source: str = "api"
    ) -> dict[str, Any]:
        """Record the known answer of an item; it leaves the pool and becomes a gold task."""
        self.require(actor, "gold.manage")
        data = self._item_data(item_id)
        if data is None:
            raise NotFound(f"No item {item_id} in this project.")
        clean = self._validate_gold(value, data)
        with self.db.write() as conn:
            qa_store.set_gold(
                conn,
                project_id=self.id,
                item_id=item_id,
                value=orjson.dumps(clean).decode(),
                source=source,
                now=time.time(),
            )
        return clean

    def unset_gold(self, item_id: int, *, actor: User | None = None) -> None:
        self.require(actor, "gold.manage")
        if self._item_data(item_id) is None:
            raise NotFound(f"No item {item_id} in this project.")
        with self.db.write() as conn:
            qa_store.unset_gold(conn, project_id=self.id, item_id=item_id,
                                overlap=int(self._settings()["overlap"]))

    def gold(self, *, actor: User | None = None) -> dict[int, dict[str, Any]]:
        """Item id → known answer. Managers and admins only."""
        self.require(actor, "gold.manage")
        with self.db.read() as conn:
            return {k: orjson.loads(v) for k, v in qa_store.gold_answers(conn, self.id).items()}

    def _validate_gold(self, value: Any, data: dict[str, Any]) -> dict[str, Any]:
        _, schema = self.schema()
        if not isinstance(value, dict) or not value:
            raise AnnotationInvalid("A gold answer maps field names to values.")
        out = {}
        for name, v in value.items():
            out[name] = schema.field(name).validate_value(v, data)
        return out

    def import_gold(
        self,
        path: str | Path,
        *,
        id_field: str = "id",
        fmt: str | None = None,
        actor: User | None = None,
        source: str | None = None,
    ) -> int:
        """Import known answers: one record per item, ``id_field`` = the item's external id,
        other keys = field values (or a ``value`` object). All or nothing."""
        self.require(actor, "gold.manage")
        p = Path(path)
        shown = source or str(p)  # the name users know (an upload's, not a temp path)
        fmt = detect_format(p, fmt)
        rows: list[tuple[int, str, dict[str, Any]]] = []
        with p.open("rb") as fh:
            for batch in open_records(fh, fmt, path=shown, required=(id_field,)):
                for rec in batch:
                    ext = str(rec.data.pop(id_field))
                    raw = rec.data.pop("value", None) if "value" in rec.data else rec.data
                    if fmt == "csv" and isinstance(raw, dict):
                        raw = {k: _csv_value(v) for k, v in raw.items() if v != ""}
                    rows.append((rec.line, ext, raw))
        with self.db.read() as conn:
            ids = qa_store.item_ids_by_external(conn, self.id, [r[1] for r in rows])
        prepared = []
        for line, ext, raw in rows:
            if ext not in ids:
                raise ImportFailed(
                    f"{shown}, line {line}: no item with id {ext!r} in this project. "
                    "Import the items first. No gold was imported.",
                    file=shown,
                    line=line,
                )
            try:
                clean = self._validate_gold(raw, self._item_data(ids[ext]) or {})
            except AnnotationInvalid as exc:
                raise ImportFailed(
                    f"{shown}, line {line}: {exc.message} No gold was imported.",
                    file=shown,
                    line=line,
                    field=exc.detail.get("field"),
                ) from None
            prepared.append((ids[ext], clean))
        with self.db.write() as conn:
            now = time.time()
            for item_id, clean in prepared:
                qa_store.set_gold(
                    conn,
                    project_id=self.id,
                    item_id=item_id,
                    value=orjson.dumps(clean).decode(),
                    source=shown,
                    now=now,
                )
        return len(prepared)

    def _wants_gold(self, user: User, n_assigned: int, *, rate: float | None = None) -> bool:
        """Whether the user's next task should be gold.

        Every block of 20 tasks holds round(20 × rate) gold tasks at positions drawn from a
        per-user, per-block seed: the share is exact, the positions irregular.
        """
        rate = self.workflow().gold_rate if rate is None else rate
        if rate <= 0:
            return False
        block, pos = divmod(n_assigned, 20)
        seed = hashlib.blake2b(f"{self.id}:{user.id}:{block}".encode(), digest_size=8)
        rng = random.Random(int.from_bytes(seed.digest(), "big"))
        return pos in rng.sample(range(20), round(20 * rate))

    def gold_feedback(self, item_id: int, value: dict[str, Any]) -> dict[str, Any] | None:
        """For gold items, when the manager turned feedback on: right or wrong, and the answer."""
        if not self.workflow().gold_feedback:
            return None
        with self.db.read() as conn:
            raw = qa_store.gold_value(conn, item_id)
        if raw is None:
            return None
        expected = orjson.loads(raw)
        wrong = sorted(k for k, v in expected.items() if value.get(k) != v)
        return {"correct": not wrong, "expected": expected, "wrong_fields": wrong}

    # -- adaptive overlap and adjudication, after each submit -----------------------------
    def after_submit(self, item_id: int) -> None:
        wf = self.workflow()
        if not wf.adaptive and wf.adjudication_threshold is None:
            return
        with self.db.read() as conn:
            target, is_gold = qa_store.item_target(conn, item_id)
            anns = qa_store.current_annotations(conn, self.id, item_id=item_id)
        if is_gold:
            return
        overlap = int(self._settings()["overlap"])
        want = target or overlap
        if len(anns) < want:
            return
        _, schema = self.schema()
        shares = []
        for f in schema.fields:
            if isinstance(f, _CATEGORICAL):
                labels = [
                    label_of(f, a_v[f.name])
                    for a in anns
                    if f.name in (a_v := orjson.loads(a["value"]))
                ]
                if labels:
                    shares.append(Counter(labels).most_common(1)[0][1] / len(labels))
        if not shares:
            return
        confidence = min(shares)
        with self.db.write() as conn:
            if wf.adaptive and confidence < wf.adaptive_min_confidence and want < wf.adaptive_max:
                queue.raise_target(conn, item_id=item_id, target=want + 1)
                return
            threshold = wf.adjudication_threshold
            if threshold is not None and 1 - confidence > threshold:
                qa_store.open_adjudication(
                    conn,
                    project_id=self.id,
                    item_id=item_id,
                    now=time.time(),
                    reason=f"majority share {confidence:.2f} after {len(anns)} annotators",
                )

    # -- review ---------------------------------------------------------------------------
    def _stage(self, stage: int | str | None, actor: User | None) -> tuple[int, Any]:
        role = self.require(actor, "review.work")
        stages = self.workflow().review_stages
        if not stages:
            raise InvalidInput(
                "This project has no review stages; a manager can add them in "
                "the workflow settings."
            )
        if stage is None:
            stage = 1
        if isinstance(stage, str) and not (stage.isascii() and stage.isdecimal()):
            names = [s.name for s in stages]
            if stage not in names:
                raise InvalidInput(f"No review stage {stage!r}; stages are {names}.")
            idx = names.index(stage) + 1
        else:
            idx = int(stage)
            if not 1 <= idx <= len(stages):
                raise InvalidInput(f"Review stage must be 1..{len(stages)}.")
        spec = stages[idx - 1]
        order = [Role.ANNOTATOR, Role.REVIEWER, Role.MANAGER, Role.ADMIN]
        if order.index(role) < order.index(spec.role):
            raise InvalidInput(f"Stage {spec.name!r} is for {spec.role.value}s.")
        return idx, spec

    def next_review(self, actor: User, *, stage: int | str | None = None) -> dict[str, Any] | None:
        """The next annotation waiting for review at ``stage`` (first stage by default)."""
        idx, spec = self._stage(stage, actor)
        with self.db.read() as conn:
            row = qa_store.next_for_review(
                conn,
                project_id=self.id,
                stage=idx,
                reviewer_id=actor.id,
                sample_permille=round(spec.sample_rate * 1000),
            )
        if row is None:
            return None
        return self._review_view(row["annotation_id"], idx, spec.name)

    def _review_view(self, annotation_id: int, idx: int, name: str) -> dict[str, Any]:
        from truelabel.store import items as item_store

        with self.db.read() as conn:
            ann = item_store.get_annotation(conn, project_id=self.id, annotation_id=annotation_id)
            assert ann is not None
            item = item_store.get_item(conn, self.id, ann["item_id"])
        assert item is not None
        anns = self.annotations(ann["item_id"])
        this = next(a for a in anns if a["id"] == annotation_id)
        return {
            "stage": idx,
            "stage_name": name,
            "annotation": this,
            "item": {
                "id": item["id"],
                "external_id": item["external_id"],
                "data": orjson.loads(item["data"]),
            },
            "other_annotations": [a for a in anns if a["id"] != annotation_id],
        }

    def review(
        self,
        annotation_id: int,
        decision: str,
        actor: User,
        *,
        stage: int | str | None = None,
        comment: str = "",
        value: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Accept, reject (the item returns to the queue) or correct an annotation."""
        idx, spec = self._stage(stage, actor)
        if decision not in ("accept", "reject", "correct"):
            raise InvalidInput("decision must be accept, reject or correct.", field="decision")
        if decision == "reject" and not comment.strip():
            raise InvalidInput(
                "Say why in a comment when you reject; the annotator sees it.", field="comment"
            )
        from truelabel.store import items as item_store

        with self.db.read() as conn:
            ann = item_store.get_annotation(conn, project_id=self.id, annotation_id=annotation_id)
        if ann is None:
            raise NotFound(f"No annotation {annotation_id} in this project.")
        if ann["user_id"] == actor.id:
            raise Conflict("You cannot review your own annotation.")
        if not ann["is_current"]:
            raise Conflict(
                f"Annotation {annotation_id} was replaced or rejected already; "
                "load the next review."
            )
        clean = None
        if decision == "correct":
            if value is None:
                raise InvalidInput("A correction needs the corrected value.", field="value")
            sid, schema = self.schema()
            clean = schema.validate_annotation(value, self._item_data(ann["item_id"]))
        now = time.time()
        with self.db.write() as conn:
            correction_id = None
            if clean is not None:
                sid, _ = self.schema()
                correction_id = queue.supersede(
                    conn,
                    old_id=annotation_id,
                    values={
                        "project_id": self.id,
                        "item_id": ann["item_id"],
                        "user_id": actor.id,
                        "assignment_id": ann["assignment_id"],
                        "schema_version_id": sid,
                        "value": orjson.dumps(clean).decode(),
                        "idempotency_key": f"review-{annotation_id}-{idx}",
                        "origin": f"review:{spec.name}",
                        "created_at": now,
                    },
                )
            try:
                rid = qa_store.add_review(
                    conn,
                    {
                        "project_id": self.id,
                        "item_id": ann["item_id"],
                        "annotation_id": annotation_id,
                        "stage": idx,
                        "reviewer_id": actor.id,
                        "decision": decision,
                        "comment": comment,
                        "correction_id": correction_id,
                        "created_at": now,
                    },
                )
            except Exception as exc:
                if "ux_review_stage" in str(exc) or "UNIQUE" in str(exc).upper():
                    raise Conflict(
                        f"Annotation {annotation_id} was already reviewed at stage {spec.name!r}."
                    ) from None
                raise
            if decision == "reject":
                queue.reject(conn, annotation_id=annotation_id)
            project_store.audit(
                conn,
                at=now,
                user_id=actor.id,
                action=f"review.{decision}",
                object_type="annotation",
                object_id=annotation_id,
                detail={"stage": spec.name, "comment": comment},
            )
        return {"id": rid, "decision": decision, "stage": idx, "correction_id": correction_id}

    def review_comments(self, item_id: int, user: User, *, conn: Any = None
                        ) -> list[dict[str, Any]]:
        """Rejections of this user's earlier work on the item (shown beside the task)."""
        if conn is None:
            with self.db.read() as c:
                rows = qa_store.reviews_for_item(c, item_id)
        else:
            rows = qa_store.reviews_for_item(conn, item_id)
        return [{"stage": r["stage"], "comment": r["comment"], "reviewer": r["reviewer"]}
                for r in rows if r["decision"] == "reject" and r["annotator_id"] == user.id]

    # -- adjudication ---------------------------------------------------------------------
    def adjudication_queue(
        self, *, actor: User | None = None, status: str = "open"
    ) -> list[dict[str, Any]]:
        """Items whose disagreement stayed above the threshold, with every label."""
        self.require(actor, "quality.adjudicate")
        with self.db.read() as conn:
            rows = qa_store.adjudication_queue(conn, self.id, status=status)
        out = []
        for r in rows:
            data = self._item_data(r["item_id"])
            out.append(
                {
                    **r,
                    "value": orjson.loads(r["value"]) if r["value"] else None,
                    "data": data,
                    "annotations": self.annotations(r["item_id"]),
                }
            )
        return out

    def adjudicate(
        self, item_id: int, value: dict[str, Any], actor: User, *, comment: str = ""
    ) -> dict[str, Any]:
        """Decide an item's label; it becomes its ground truth (method ``adjudication``)."""
        self.require(actor, "quality.adjudicate")
        data = self._item_data(item_id)
        if data is None:
            raise NotFound(f"No item {item_id} in this project.")
        _, schema = self.schema()
        clean = schema.validate_annotation(value, data)
        contributors = [a["id"] for a in self.annotations(item_id)]
        now = time.time()
        with self.db.write() as conn:
            if not qa_store.decide_adjudication(
                conn,
                item_id=item_id,
                user_id=actor.id,
                value=orjson.dumps(clean).decode(),
                comment=comment,
                now=now,
            ):
                raise Conflict(
                    f"Item {item_id} is not waiting for adjudication (already "
                    "decided, or never disputed)."
                )
            for name, v in clean.items():
                qa_store.upsert_ground_truth(
                    conn,
                    {
                        "item_id": item_id,
                        "field": name,
                        "project_id": self.id,
                        "value": orjson.dumps(v).decode(),
                        "confidence": 1.0,
                        "method": "adjudication",
                        "contributors": json.dumps(contributors),
                        "computed_at": now,
                    },
                )
            project_store.audit(
                conn,
                at=now,
                user_id=actor.id,
                action="adjudicate",
                object_type="item",
                object_id=item_id,
                detail={"value": clean},
            )
        return clean

    # -- ground truth ---------------------------------------------------------------------
    def _long_format(self) -> tuple[list[dict[str, Any]], dict[int, dict[str, Any]]]:
        with self.db.read() as conn:
            anns = qa_store.current_annotations(conn, self.id)
            gold = {k: orjson.loads(v) for k, v in qa_store.gold_answers(conn, self.id).items()}
        for a in anns:
            a["value"] = orjson.loads(a["value"])
        return anns, gold

    def aggregate(
        self, *, method: str = "dawid_skene", actor: User | None = None
    ) -> dict[str, Any]:
        """Compute ground truth for every categorical and span field; adjudicated items keep
        their decided label. Returns a summary per field."""
        self.require(actor, "quality.aggregate")
        if method not in METHODS:
            raise InvalidInput(
                f"Unknown aggregation method {method!r}; known: {list(METHODS)}.", field="method"
            )
        _, schema = self.schema()
        anns, gold = self._long_format()
        now = time.time()
        summary: dict[str, Any] = {"method": method, "fields": {}}
        pending: list[tuple[str, list[dict[str, Any]]]] = []
        for f in schema.fields:
            if isinstance(f, _CATEGORICAL):
                rows, info = self._aggregate_field(f, anns, gold, method, now)
            elif isinstance(f, SpansField):
                rows, info = self._aggregate_spans(f, anns, now)
            else:
                summary["fields"][f.name] = {
                    "skipped": f"no aggregation for field type {f.type!r} yet"
                }
                continue
            pending.append((f.name, rows))
            summary["fields"][f.name] = info
        with self.db.write() as conn:
            for name, rows in pending:
                qa_store.replace_ground_truth(
                    conn, project_id=self.id, field=name, rows=rows, keep_methods=("adjudication",)
                )
        return summary

    def _aggregate_field(
        self,
        f: FieldSpec,
        anns: list[dict[str, Any]],
        gold: dict[int, dict[str, Any]],
        method: str,
        now: float,
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        items, who, labels, aids = [], [], [], []
        for a in anns:
            if f.name in a["value"]:
                items.append(a["item_id"])
                who.append(a["username"])
                labels.append(label_of(f, a["value"][f.name]))
                aids.append(a["id"])
        if not items:
            return [], {"items": 0, "note": "no labels yet"}
        ratings = q.encode_ratings(items, who, labels)
        gold_labels = {i: label_of(f, g[f.name]) for i, g in gold.items() if f.name in g}
        used = method
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", q.QualityWarning)
                if method == "majority":
                    res = q.majority_vote(ratings)
                elif method == "weighted":
                    res = q.weighted_vote(ratings, weights=self._gold_weights(ratings, gold_labels))
                else:
                    res = q.dawid_skene(
                        ratings,
                        gold=gold_labels if method == "gold_dawid_skene" and gold_labels else None,
                    )
        except q.NotEnoughData:
            res = q.majority_vote(ratings)
            used = "majority"
        except q.QualityError as exc:
            raise _quality_error(exc) from None
        by_item: dict[Any, list[int]] = defaultdict(list)
        for i, aid in zip(items, aids, strict=True):
            by_item[i].append(aid)
        rows = []
        for item, lab, conf in zip(
            res.items.tolist(), res.labels.tolist(), res.confidence.tolist(), strict=True
        ):
            if item in gold and f.name in gold[item]:  # a known answer is the truth
                value, conf, how = gold[item][f.name], 1.0, "gold"
            elif lab is None:
                continue
            else:
                value, how = _unlabel(f, lab), used
            rows.append(
                {
                    "item_id": int(item),
                    "field": f.name,
                    "project_id": self.id,
                    "value": orjson.dumps(value).decode(),
                    "confidence": float(conf),
                    "method": how,
                    "contributors": json.dumps(by_item[item]),
                    "computed_at": now,
                }
            )
        return rows, {
            "items": len(rows),
            "method": used,
            "mean_confidence": round(float(res.confidence[res.codes >= 0].mean()), 4)
            if (res.codes >= 0).any()
            else None,
        }

    def _gold_weights(self, ratings: Any, gold_labels: dict[int, Any]) -> dict[Any, float]:
        if not gold_labels:
            raise InvalidInput(
                "Weighted vote weighs annotators by gold accuracy; this project "
                "has no gold answers yet. Import gold or use dawid_skene."
            )
        scores = q.gold_accuracy(ratings, gold_labels)
        return {
            a: (float(acc) if n else 0.5)
            for a, n, acc in zip(
                scores.annotators.tolist(),
                scores.n_gold.tolist(),
                scores.accuracy.tolist(),
                strict=True,
            )
        }

    def _aggregate_spans(
        self, f: SpansField, anns: list[dict[str, Any]], now: float
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        per_item: dict[int, dict[str, list[tuple[int, int, str]]]] = defaultdict(dict)
        aids: dict[int, list[int]] = defaultdict(list)
        for a in anns:
            if a["is_gold"]:
                continue
            spans = a["value"].get(f.name, [])
            per_item[a["item_id"]][a["username"]] = [
                (s["start"], s["end"], s["label"]) for s in spans
            ]
            aids[a["item_id"]].append(a["id"])
        rows = []
        for item_id, by_ann in per_item.items():
            agg = q.aggregate_spans(by_ann)
            value = [{"start": s.start, "end": s.end, "label": s.label} for s in agg]
            conf = min((s.confidence for s in agg), default=1.0)
            rows.append(
                {
                    "item_id": item_id,
                    "field": f.name,
                    "project_id": self.id,
                    "value": orjson.dumps(value).decode(),
                    "confidence": conf,
                    "method": "span_vote",
                    "contributors": json.dumps(aids[item_id]),
                    "computed_at": now,
                }
            )
        return rows, {"items": len(rows), "method": "span_vote"}

    def ground_truth(
        self, *, item_id: int | None = None, actor: User | None = None
    ) -> dict[int, dict[str, Any]]:
        """Item id → field → {value, confidence, method, contributors}."""
        self.require(actor, "quality.read")
        with self.db.read() as conn:
            rows = qa_store.ground_truth(
                conn, self.id, item_ids=None if item_id is None else [item_id]
            )
        out: dict[int, dict[str, Any]] = defaultdict(dict)
        for r in rows:
            out[int(r["item_id"])][r["field"]] = {
                "value": orjson.loads(r["value"]),
                "confidence": r["confidence"],
                "method": r["method"],
                "contributors": json.loads(r["contributors"]),
            }
        return dict(out)

    # -- sign-off -------------------------------------------------------------------------
    def sign_off(self, actor: User, *, comment: str = "") -> dict[str, Any]:
        """QA-lead sign-off with the evidence (agreement, gold accuracy, reviews) frozen."""
        self.require(actor, "quality.signoff")
        from .report import quality_report

        evidence = quality_report(self, actor=actor, n_resamples=200)
        with self.db.write() as conn:
            sid = qa_store.add_signoff(
                conn,
                project_id=self.id,
                user_id=actor.id,
                comment=comment,
                evidence=json.dumps(evidence),
                now=time.time(),
            )
            project_store.audit(
                conn,
                at=time.time(),
                user_id=actor.id,
                action="signoff",
                object_type="project",
                object_id=self.id,
                detail={"signoff": sid},
            )
        return {"id": sid, "comment": comment, "evidence": evidence}

    def signoffs(self, *, actor: User | None = None) -> list[dict[str, Any]]:
        self.require(actor, "quality.read")
        with self.db.read() as conn:
            rows = qa_store.signoffs(conn, self.id)
        return [{**r, "evidence": json.loads(r["evidence"])} for r in rows]


def _unlabel(f: FieldSpec, label: Any) -> Any:
    """The field value for an aggregated label (inverse of :func:`label_of`)."""
    if isinstance(f, MultiChoiceField):
        return [] if label == "(none)" else str(label).split("|")
    return label


def _csv_value(v: str) -> Any:
    """CSV cells are text: read numbers and JSON lists/objects for ratings and multi-choice."""
    s = v.strip()
    if s[:1] in "[{" or s.lstrip("-").isdigit():
        try:
            return json.loads(s)
        except ValueError:
            return v
    return v


def has_role(role: Role, permission: str) -> bool:
    return role_allows(role, permission)
