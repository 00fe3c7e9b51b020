"""Quality assurance on a project: workflow settings, gold, adaptive overlap.

``project.quality``, beside ``review`` (review stages and adjudication) and ``truth`` (ground
truth and sign-off). The numbers come from the pure
engines in ``truelabel.quality``, the rows from ``truelabel.store.qa``.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson

from truelabel.domain.errors import (
    AnnotationInvalid,
    ImportFailed,
    InvalidInput,
    NotFound,
)
from truelabel.domain.fields import FieldSpec
from truelabel.domain.lifecycle import ItemEvent
from truelabel.domain.models import User
from truelabel.domain.results import LabelValue
from truelabel.domain.workflow import Workflow
from truelabel.formats.readers import detect_format, open_records
from truelabel.store import projects as project_store
from truelabel.store import qa as qa_store
from truelabel.store import queue

from . import lifecycle
from .context import ProjectContext, Service, Submitted


def label_of(field: FieldSpec, value: Any) -> Any:
    """A hashable label for a categorical field value (the kind's ``encode``)."""
    return field.encode(value)


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


class QualityService(Service):
    """Workflow settings, gold answers, adaptive overlap and adjudication triggers (these
    follow each ``after_submit``)."""

    name = "quality"

    def __init__(self, ctx: ProjectContext) -> None:
        super().__init__(ctx)
        self.events.subscribe("after_submit", self._on_submit)

    # -- workflow settings ----------------------------------------------------------------
    def set_workflow(
        self,
        values: Mapping[str, Any] | None = None,
        /,
        *,
        actor: User | None = None,
        **more: Any,
    ) -> Workflow:
        """Change workflow settings (see :class:`~truelabel.domain.workflow.Workflow`).

        Pass them as a mapping (``set_workflow({"gold_rate": 0.1})``, what the API does: any
        key, even ``actor``, is then a setting name) or as keywords (``gold_rate=0.1``).
        """
        self.require(actor, "project.edit")
        changes = {**(values or {}), **more}
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
    ) -> LabelValue:
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
            qa_store.unset_gold(
                conn, project_id=self.id, item_id=item_id, overlap=int(self._settings()["overlap"])
            )

    def gold(self, *, actor: User | None = None) -> dict[int, LabelValue]:
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
        fmt = detect_format(shown, fmt)  # its messages name the user's file
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

    def _gold_feedback(self, item_id: int, value: dict[str, Any]) -> dict[str, Any] | None:
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
    def _on_submit(self, event: Submitted) -> None:
        wf = event.workflow
        if wf.adaptive or wf.adjudication_threshold is not None:
            self._after_submit(event.item_id)

    def _after_submit(self, item_id: int) -> None:
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
            if f.categorical:
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
                if qa_store.open_adjudication(
                    conn,
                    project_id=self.id,
                    item_id=item_id,
                    now=time.time(),
                    reason=f"majority share {confidence:.2f} after {len(anns)} annotators",
                ):
                    lifecycle.step(conn, self.id, item_id, ItemEvent.ADJUDICATION_NEEDED,
                                   strict=False)


def _csv_value(v: str) -> Any:
    """CSV cells are text: read numbers and JSON lists/objects for ratings and multi-choice."""
    s = v.strip()
    if s[:1] in "[{" or s.lstrip("-").isdigit():
        try:
            return json.loads(s)
        except ValueError:
            return v
    return v
