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
    SignOffNeedsOverride,
)
from truelabel.domain.fields import FieldSpec
from truelabel.domain.lifecycle import DECIDED, SUBMITTED
from truelabel.domain.models import User
from truelabel.domain.plugins import registry
from truelabel.domain.results import AggregateSummary, SignOff, SignOffRow, TruthEntry
from truelabel.domain.roles import role_allows
from truelabel.quality.dawid_skene import check_iter_options
from truelabel.store import lifecycle as lc_store
from truelabel.store import projects as project_store
from truelabel.store import qa as qa_store

from .calibrated import calibrate_fit, calibration_summary
from .context import Aggregated, Service
from .inference import DEFAULT_METHOD, fit_report, resolve_method
from .qa import _quality_error, label_of
from .report import hide_gold, quality_report


class TruthService(Service):
    """Aggregated labels per item and field, and the sign-off that freezes the evidence.

    Each aggregation is announced as ``after_aggregate``."""

    name = "truth"

    # -- ground truth ---------------------------------------------------------------------
    def aggregate(
        self, *, method: str = DEFAULT_METHOD, actor: User | None = None,
        max_iter: int | None = None, tol: float | None = None,
    ) -> AggregateSummary:
        """Compute ground truth for every categorical and span field; adjudicated items keep
        their decided label. Returns a summary per field.

        ``method`` is a registered truth-inference method (default ``auto``: chosen per field
        by a held-out criterion, see docs/quality.md); ``max_iter``/``tol`` bound iterative
        methods (``None``: the method's defaults)."""
        self.require(actor, "quality.aggregate")
        resolve_method(method)
        check_iter_options(100 if max_iter is None else max_iter, 0.0 if tol is None else tol)
        fit_options = {"max_iter": max_iter, "tol": tol}
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
            rows, info = aggregator(self, f, anns, gold, method=method, now=now,
                                    **{k: v for k, v in fit_options.items() if v is not None})
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
        max_iter: int | None = None,
        tol: float | None = None,
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        items, who, labels, aids, weights = [], [], [], [], []
        with self.db.read() as conn:
            accepted = qa_store.accepted_annotations(conn, self.id)
        for a in anns:
            if f.name in a["value"] and (lab := label_of(f, a["value"][f.name])) is not None:
                items.append(a["item_id"])
                who.append(a["username"])
                labels.append(lab)
                aids.append(a["id"])
                weights.append(evidence_weight(a, accepted))
        if not items:
            return [], {"items": 0, "note": "no labels yet"}
        ratings = q.encode_ratings(items, who, labels)
        strength = weights if ratings.unit.shape[0] == len(weights) else None
        gold_labels = {i: label_of(f, g[f.name]) for i, g in gold.items() if f.name in g}
        used = method
        tm = resolve_method(method)
        # a reviewed answer anchors its item, as a known answer does; gold answers go to the
        # methods that need or choose by them (gold items get their gold answer regardless)
        known = gold_labels if tm.needs_gold or tm.uses_gold else {}
        anchors = {**reviewed_labels(items, labels, weights), **known}
        if tm.needs_gold and not gold_labels:
            raise InvalidInput(
                f"Method {method} needs gold answers; this project has none yet. Import gold, "
                "or use auto, majority or dawid_skene.", field="method")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", q.QualityWarning)
                res = tm.fit(
                    ratings, gold=anchors or None, answer_weights=strength,
                    max_iter=max_iter, tol=tol, warn=False)
        except q.NotEnoughData:
            res = q.majority_vote(ratings, answer_weights=strength)
            used = "majority"
        except q.QualityError as exc:
            raise _quality_error(exc) from None
        # the fitted result: one place to post-process it (e.g. calibrate its confidences)
        res = calibrate_fit(res, ratings, method=used, gold=gold_labels, answer_weights=strength,
                            fitted_with_gold=bool(known))
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
        fit = fit_report(res)
        fit.pop("objective_trace")
        return rows, {
            "items": len(rows),
            "method": used,
            "engine": res.method,
            "calibration": calibration_summary(res),
            "mean_confidence": round(float(res.confidence[res.codes >= 0].mean()), 4)
            if (res.codes >= 0).any()
            else None,
            **fit,
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
    def signoff_warnings(self, *, actor: User | None = None) -> list[dict[str, Any]]:
        """What a sign-off now would be warned about (see :func:`signoff_warnings`)."""
        self.require(actor, "quality.signoff")
        evidence = quality_report(self.ctx, actor=actor, n_resamples=200)
        return signoff_warnings(evidence, self.workflow().min_agreement)

    def sign_off(self, actor: User, *, comment: str = "", override_reason: str = "") -> SignOff:
        """QA-lead sign-off with the evidence (agreement, gold accuracy, reviews) frozen.

        Open adjudications or agreement below the workflow's ``min_agreement`` refuse it
        (:class:`SignOffNeedsOverride`, the warnings in its detail) unless
        ``override_reason`` says why it is signed off anyway; the reason and the warnings are
        kept in the evidence and the audit log. Finished items (submitted, decided) become
        signed off (docs/lifecycle.md)."""
        self.require(actor, "quality.signoff")
        evidence = quality_report(self.ctx, actor=actor, n_resamples=200)
        found = signoff_warnings(evidence, self.workflow().min_agreement)
        override_reason = override_reason.strip()
        if found and not override_reason:
            raise SignOffNeedsOverride(
                "Not signed off: " + "; ".join(w["message"] for w in found) + ". Resolve "
                "these first, or sign off anyway with an override reason (it is recorded).",
                warnings=found,
            )
        evidence["signoff_warnings"] = found
        evidence["override_reason"] = override_reason if found else ""
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
                detail={"signoff": sid, "warnings": [w["code"] for w in found],
                        "override_reason": evidence["override_reason"]},
            )
            lc_store.sign_off_items(conn, self.id, FINISHED)
        return {"id": sid, "comment": comment, "evidence": evidence, "warnings": found,
                "override_reason": evidence["override_reason"]}

    def signoffs(self, *, actor: User | None = None) -> list[SignOffRow]:
        role = self.require(actor, "quality.read")
        with self.db.read() as conn:
            rows = qa_store.signoffs(conn, self.id)

        out = [cast(SignOffRow, {**r, "evidence": json.loads(r["evidence"])}) for r in rows]
        if not role_allows(role, "gold.manage"):  # the evidence holds gold accuracies
            for r in out:
                r["evidence"] = hide_gold(r["evidence"])
        return out


#: How much a reviewed answer counts against an unreviewed one (1) in every aggregation
#: method (docs/quality.md, "Reviewed answers weigh more"): a vote counts this many times;
#: in Dawid-Skene its likelihood term is raised to this power and it counts this many times
#: in the confusion matrices.
ACCEPTED_WEIGHT = 2.0
CORRECTION_WEIGHT = 3.0


def evidence_weight(annotation: dict[str, Any], accepted: set[int]) -> float:
    """An answer's weight: a reviewer's correction, a reviewer-accepted answer, or 1."""
    if str(annotation.get("origin") or "").startswith("review:"):
        return CORRECTION_WEIGHT
    return ACCEPTED_WEIGHT if annotation["id"] in accepted else 1.0


def reviewed_labels(items: list[Any], labels: list[Any], weights: list[float]
                    ) -> dict[Any, Any]:
    """Per item with reviewed answers (weight above 1), the label they support most, when
    one label leads; Dawid-Skene keeps these items' posteriors on it, as on gold."""
    score: dict[Any, dict[Any, float]] = defaultdict(lambda: defaultdict(float))
    for item, lab, w in zip(items, labels, weights, strict=True):
        if w > 1:
            score[item][lab] += w
    out = {}
    for item, c in score.items():
        top = sorted(c.items(), key=lambda kv: -kv[1])[:2]
        if len(top) == 1 or top[0][1] > top[1][1]:
            out[item] = top[0][0]
    return out


#: the states a sign-off covers (they become signed_off)
FINISHED = (SUBMITTED.value, DECIDED.value)


def signoff_warnings(evidence: dict[str, Any], min_agreement: float) -> list[dict[str, Any]]:
    """Why a sign-off on ``evidence`` (a quality report) needs an override: items still
    waiting for adjudication, and fields whose agreement is below ``min_agreement``."""
    out: list[dict[str, Any]] = []
    waiting = int((evidence["progress"].get("adjudication") or {}).get("open", 0))
    if waiting:
        out.append({"code": "open_adjudications", "count": waiting,
                    "message": f"{waiting} item(s) still wait for adjudication"})
    for name, fig in evidence["fields"].items():
        alpha = fig.get("alpha")
        if alpha is not None and alpha < min_agreement:
            out.append({"code": "low_agreement", "field": name, "value": alpha,
                        "threshold": min_agreement,
                        "message": f"agreement on {name!r} is {alpha:.2f}, below the "
                                   f"workflow's minimum {min_agreement:.2f}"})
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
    max_iter: int | None = None, tol: float | None = None,
) -> AggregateResult:
    """``truelabel.vote.v1``: the registered truth-inference method ``method`` over the labels
    the kind encodes; gold answers are the truth of gold items."""
    result: AggregateResult = project._aggregate_field(f, anns, gold, method, now,
                                                       max_iter, tol)
    return result


def aggregate_spans(
    project: TruthService, f: FieldSpec, anns: list[dict[str, Any]],
    gold: dict[int, dict[str, Any]], *, method: str, now: float, **options: Any,
) -> AggregateResult:
    """``truelabel.span_vote.v1``: spans most annotators marked (``method`` and the fit
    ``options`` are not used)."""
    result: AggregateResult = project._aggregate_spans(f, anns, now)
    return result
