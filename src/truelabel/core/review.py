"""Review stages and adjudication on a project (``project.review``)."""

from __future__ import annotations

import json
import time
from typing import Any, cast

import orjson

from truelabel.domain.errors import (
    AlreadyExists,
    Conflict,
    InvalidInput,
    NotFound,
)
from truelabel.domain.lifecycle import IN_REVIEW, SUBMITTED, ItemEvent
from truelabel.domain.models import User
from truelabel.domain.results import AdjudicationEntry, LabelValue, ReviewResult, ReviewTask
from truelabel.domain.roles import Role
from truelabel.store import lifecycle as lc_store
from truelabel.store import projects as project_store
from truelabel.store import qa as qa_store
from truelabel.store import queue

from . import lifecycle
from .context import Reviewed, Service


class ReviewService(Service):
    """Reviewers accept, reject or correct annotations; adjudicators decide disputed items.

    Each review decision is announced as ``after_review``."""

    name = "review"

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

    def next_review(self, actor: User, *, stage: int | str | None = None) -> ReviewTask | None:
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

    def _review_view(self, annotation_id: int, idx: int, name: str) -> ReviewTask:
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
                "state": item["state"],
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
    ) -> ReviewResult:
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
        event = ItemEvent(decision)
        with self.db.write() as conn:
            state = lifecycle.check(conn, self.id, ann["item_id"], event)
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
            except AlreadyExists:  # the unique key ux_review_stage
                raise Conflict(
                    f"Annotation {annotation_id} was already reviewed at stage {spec.name!r}."
                ) from None
            if decision == "reject":  # rework: off the adjudication queue until it is in
                queue.reject(conn, annotation_id=annotation_id)
                lc_store.withdraw_adjudication(conn, ann["item_id"])
            else:  # an item waiting for review is reviewed
                lifecycle.step(conn, self.id, ann["item_id"], event,
                               SUBMITTED if state is IN_REVIEW else None)
            project_store.audit(
                conn,
                at=now,
                user_id=actor.id,
                action=f"review.{decision}",
                object_type="annotation",
                object_id=annotation_id,
                detail={"stage": spec.name, "comment": comment},
            )
        if self.events.wanted("after_review"):
            self.events.emit("after_review", Reviewed(
                annotation_id, ann["item_id"], idx, decision, actor, correction_id
            ))
        return {"id": rid, "decision": decision, "stage": idx, "correction_id": correction_id}

    #: ``project.review(annotation_id, decision, actor)`` decides, as :meth:`review`
    __call__ = review

    def _review_comments(
        self, item_id: int, user: User, *, conn: Any = None
    ) -> list[dict[str, Any]]:
        """Rejections of this user's earlier work on the item (shown beside the task)."""
        if conn is None:
            with self.db.read() as c:
                rows = qa_store.reviews_for_item(c, item_id)
        else:
            rows = qa_store.reviews_for_item(conn, item_id)
        return rejections(rows, user)

    # -- adjudication ---------------------------------------------------------------------
    def adjudication_queue(
        self, *, actor: User | None = None, status: str = "open"
    ) -> list[AdjudicationEntry]:
        """Items whose disagreement stayed above the threshold, with every label."""
        self.require(actor, "quality.adjudicate")
        with self.db.read() as conn:
            rows = qa_store.adjudication_queue(conn, self.id, status=status)
        out: list[AdjudicationEntry] = []
        for r in rows:
            data = self._item_data(r["item_id"])
            out.append(cast(AdjudicationEntry, {
                **r,
                "value": orjson.loads(r["value"]) if r["value"] else None,
                "data": data,
                "annotations": self.annotations(r["item_id"]),
            }))
        return out

    def adjudicate(
        self, item_id: int, value: dict[str, Any], actor: User, *, comment: str = ""
    ) -> LabelValue:
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
            # decided: never handed to annotators again; open rework leases are closed
            lifecycle.step(conn, self.id, item_id, ItemEvent.DECIDE)
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


def rejections(reviews: list[dict[str, Any]], user: User) -> list[dict[str, Any]]:
    """The rejections of ``user``'s work among an item's reviews (``qa.reviews_for_item``)."""
    return [
        {"stage": r["stage"], "comment": r["comment"], "reviewer": r["reviewer"]}
        for r in reviews
        if r["decision"] == "reject" and r["annotator_id"] == user.id
    ]
