"""Ground truth on a project (``project.truth``): aggregation, stored truth and QA-lead
sign-off."""

from __future__ import annotations

import json
import time
import warnings
from collections import Counter, defaultdict
from typing import Any, cast

import orjson

from truelabel import quality as q
from truelabel.domain.errors import (
    InvalidInput,
)
from truelabel.domain.fields import FieldSpec
from truelabel.domain.models import User
from truelabel.domain.plugins import registry
from truelabel.domain.results import AggregateSummary, SignOff, SignOffRow, TruthEntry
from truelabel.domain.roles import role_allows
from truelabel.store import projects as project_store
from truelabel.store import qa as qa_store

from .context import Aggregated, Service
from .qa import METHODS, _quality_error, label_of
from .report import hide_gold, quality_report


class TruthService(Service):
    """Aggregated labels per item and field, and the sign-off that freezes the evidence.

    Each aggregation is announced as ``after_aggregate``."""

    name = "truth"

    # -- ground truth ---------------------------------------------------------------------
    def aggregate(
        self, *, method: str = "dawid_skene", actor: User | None = None
    ) -> AggregateSummary:
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
        summary: AggregateSummary = {"method": method, "fields": {}}
        pending: list[tuple[str, list[dict[str, Any]]]] = []
        for f in schema.fields:
            if not f.aggregators:
                summary["fields"][f.name] = {
                    "skipped": f"no aggregation for field type {f.type!r} yet"
                }
                continue
            aggregator = registry.aggregators.get(f.aggregators[0])
            rows, info = aggregator(self, f, anns, gold, method=method, now=now)
            pending.append((f.name, rows))
            summary["fields"][f.name] = info
        with self.db.write() as conn:
            for name, rows in pending:
                qa_store.replace_ground_truth(
                    conn, project_id=self.id, field=name, rows=rows, keep_methods=("adjudication",)
                )
        if self.events.wanted("after_aggregate"):
            self.events.emit("after_aggregate", Aggregated(method, summary, actor))
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
        self, f: FieldSpec, anns: list[dict[str, Any]], now: float
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        per_item: dict[int, dict[str, list[tuple[int, int, str]]]] = defaultdict(dict)
        aids: dict[int, list[int]] = defaultdict(list)
        for a in anns:
            if a["is_gold"]:
                continue
            per_item[a["item_id"]][a["username"]] = f.encode(a["value"].get(f.name, []))
            aids[a["item_id"]].append(a["id"])
        rows = []
        for item_id, by_ann in per_item.items():
            agg = q.aggregate_spans(by_ann)
            value = f.decode([(s.start, s.end, s.label) for s in agg])
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
    ) -> dict[int, dict[str, TruthEntry]]:
        """Item id → field → {value, confidence, method, contributors}.

        A caller whose role may not read gold (no ``gold.manage``) never gets a gold answer:
        where the stored truth is a gold answer (method ``gold``, also after the item stopped
        being gold), they get the annotators' own majority label instead (method
        ``majority``, confidence the majority share), or nothing if no annotator labelled
        that field.
        """
        role = self.require(actor, "quality.read")
        ids = None if item_id is None else [item_id]
        with self.db.read() as conn:
            rows = qa_store.ground_truth(conn, self.id, item_ids=ids)
            hide = set() if role_allows(role, "gold.manage") else {
                int(r["item_id"]) for r in rows if r["method"] == "gold"
            }
            votes = _votes(qa_store.current_values(conn, self.id, hide)) if hide else {}
        fields = {f.name: f for f in self.schema()[1].fields} if hide else {}
        out: dict[int, dict[str, Any]] = defaultdict(dict)
        for r in rows:
            item, name = int(r["item_id"]), r["field"]
            entry = {
                "value": orjson.loads(r["value"]),
                "confidence": r["confidence"],
                "method": r["method"],
                "contributors": json.loads(r["contributors"]),
            }
            if r["method"] == "gold" and item in hide:
                spec = fields.get(name)
                hidden = _annotators_label(spec, votes.get(item, [])) if spec else None
                if hidden is None:
                    continue
                entry = hidden
            out[item][name] = entry
        return dict(out)

    # -- sign-off -------------------------------------------------------------------------
    def sign_off(self, actor: User, *, comment: str = "") -> SignOff:
        """QA-lead sign-off with the evidence (agreement, gold accuracy, reviews) frozen."""
        self.require(actor, "quality.signoff")
        evidence = quality_report(self.ctx, actor=actor, n_resamples=200)
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

    def signoffs(self, *, actor: User | None = None) -> list[SignOffRow]:
        role = self.require(actor, "quality.read")
        with self.db.read() as conn:
            rows = qa_store.signoffs(conn, self.id)

        out = [cast(SignOffRow, {**r, "evidence": json.loads(r["evidence"])}) for r in rows]
        if not role_allows(role, "gold.manage"):  # the evidence holds gold accuracies
            for r in out:
                r["evidence"] = hide_gold(r["evidence"])
        return out


def _votes(anns: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    """Current annotations by item, values parsed."""
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for a in anns:
        out[int(a["item_id"])].append({**a, "value": orjson.loads(a["value"])})
    return out


def _annotators_label(f: FieldSpec, anns: list[dict[str, Any]]) -> dict[str, Any] | None:
    """What one who may not read gold sees for a gold answer: the annotators' majority."""
    labels = [label_of(f, a["value"][f.name]) for a in anns if f.name in a["value"]]
    if not labels:
        return None
    counts = Counter(labels)
    top, n = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))[0]
    return {
        "value": _unlabel(f, top),
        "confidence": round(n / len(labels), 6),
        "method": "majority",
        "contributors": [a["id"] for a in anns if f.name in a["value"]],
    }


def _unlabel(f: FieldSpec, label: Any) -> Any:
    """The field value for an aggregated label (inverse of :func:`label_of`)."""
    return f.decode(label)


AggregateResult = tuple[list[dict[str, Any]], dict[str, Any]]


def aggregate_categorical(
    project: TruthService, f: FieldSpec, anns: list[dict[str, Any]],
    gold: dict[int, dict[str, Any]], *, method: str, now: float,
) -> AggregateResult:
    """``truelabel.vote.v1``: majority, weighted vote or Dawid-Skene over the labels the
    kind encodes (``method``); gold answers are the truth of gold items."""
    result: AggregateResult = project._aggregate_field(f, anns, gold, method, now)
    return result


def aggregate_spans(
    project: TruthService, f: FieldSpec, anns: list[dict[str, Any]],
    gold: dict[int, dict[str, Any]], *, method: str, now: float,
) -> AggregateResult:
    """``truelabel.span_vote.v1``: spans most annotators marked (``method`` is not used)."""
    result: AggregateResult = project._aggregate_spans(f, anns, now)
    return result
