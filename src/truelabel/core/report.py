"""The quality report: progress, agreement with intervals, scorecards, confusion, hot spots."""

from __future__ import annotations

import copy
import math
import warnings
from collections import Counter, defaultdict
from collections.abc import Sequence
from statistics import median
from typing import TYPE_CHECKING, Any, Literal

import orjson

from truelabel import quality as q
from truelabel.domain.errors import InvalidInput
from truelabel.domain.fields import FieldSpec
from truelabel.domain.models import User
from truelabel.domain.plugins import registry
from truelabel.domain.roles import role_allows
from truelabel.store import changes
from truelabel.store import qa as qa_store

from .calibrated import labels_calibration
from .qa import label_of, wilson

if TYPE_CHECKING:
    from .context import ProjectContext


def _num(x: Any) -> float | None:
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) else round(x, 4)


def field_agreement(
    f: FieldSpec,
    anns: list[dict[str, Any]],
    *,
    slices: dict[str, dict[str, Any]],
    n_resamples: int,
    seed: int = 0,
) -> dict[str, Any]:
    """Agreement for one field over non-gold items, with a bootstrap CI and breakdowns:
    the first agreement measure the field's kind names. One answer per annotator and item
    counts: a reviewer who corrected two answers of one item authored both corrections, and
    the latest stands for them (docs/quality.md)."""
    latest: dict[tuple[int, str], dict[str, Any]] = {}
    for a in anns:  # ordered by item, then annotation id: a later answer replaces an earlier
        if not a["is_gold"] and f.name in a["value"]:
            latest[(a["item_id"], a["username"])] = a
    rows = list(latest.values())
    if not f.agreement:
        return {"type": f.type, "error": f"no agreement measure yet for field type {f.type!r}"}
    measure = registry.agreement_measures.get(f.agreement[0])
    out: dict[str, Any] = measure(f, rows, slices=slices, n_resamples=n_resamples, seed=seed)
    return out


def span_agreement(
    f: FieldSpec, rows: list[dict[str, Any]], *, slices: dict[str, dict[str, Any]],
    n_resamples: int,
    seed: int = 0,
) -> dict[str, Any]:
    """``truelabel.span_f1.v1``: pairwise span F1 (exact and overlap) and unitizing alpha
    over values the kind encodes as ``[(start, end, label), …]``."""
    docs: dict[int, dict[str, list[Any]]] = defaultdict(dict)
    texts: dict[int, int] = {}
    for a in rows:
        spans = f.encode(a["value"][f.name])
        docs[a["item_id"]][a["username"]] = spans
        texts[a["item_id"]] = max([texts.get(a["item_id"], 0)] + [s[1] for s in spans])
    multi = [d for d in docs.values() if len(d) > 1]
    if not multi:
        return {"type": f.type, "error": "needs items labelled by two or more annotators"}
    exact = q.span_f1(multi, match="exact")
    overlap = q.span_f1(multi, match="overlap")
    ua = []
    for item, d in docs.items():
        if len(d) > 1 and texts[item] > 0:
            try:
                ua.append(q.unitizing_alpha(d, length=texts[item]).alpha)
            except q.QualityError:
                continue
    ua = [x for x in ua if x is not None and not math.isnan(x)]
    return {
        "type": f.type,
        "metric": "span F1 (pairwise, micro)",
        "f1_exact": _num(exact.f1),
        "f1_overlap": _num(overlap.f1),
        "unitizing_alpha_mean": _num(sum(ua) / len(ua)) if ua else None,
        "per_label": {str(k): _num(v.f1) for k, v in exact.per_label.items()},
        "documents": len(multi),
    }


def categorical_agreement(
    f: FieldSpec, rows: list[dict[str, Any]], *, slices: dict[str, dict[str, Any]],
    n_resamples: int,
    seed: int = 0,
) -> dict[str, Any]:
    """``truelabel.krippendorff.v1``: Krippendorff's alpha at the kind's level with a
    bootstrap CI, percent agreement, per-label, pairwise and per-slice figures."""
    if not rows:
        return {"type": f.type, "error": "no labels yet"}
    ratings = q.encode_ratings(
        [a["item_id"] for a in rows],
        [a["username"] for a in rows],
        [label_of(f, a["value"][f.name]) for a in rows],
    )
    level: Literal["ordinal", "nominal", "interval"] = f.agreement_level()
    order = f.label_order() if level == "ordinal" else None
    out: dict[str, Any] = {
        "type": f.type,
        "metric": f"Krippendorff's alpha ({level})",
        "level": level,
        "labels": len(rows),
    }
    if order is not None:
        out["order"] = order
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ci = q.krippendorff_alpha_ci(ratings, level=level, n_resamples=n_resamples, seed=seed,
                                         order=order)
            out.update(
                alpha=_num(ci.estimate),
                ci_low=_num(ci.low),
                ci_high=_num(ci.high),
                percent_agreement=_num(q.percent_agreement(ratings)),
            )
            out["per_label"] = {
                str(k): _num(v.value) for k, v in q.per_label_agreement(ratings).items()
            }
            out["pairs"] = [
                {
                    "a": str(p.annotator_a),
                    "b": str(p.annotator_b),
                    "n": int(p.n_units),
                    "kappa": _num(p.value),
                }
                for p in q.pairwise_agreement(ratings)
            ]
            for key, mapping in slices.items():
                per = q.slice_agreement(
                    ratings, {i: mapping.get(i) for i in ratings.units.tolist()}
                )
                out.setdefault("slices", {})[key] = {str(k): _num(v.value) for k, v in per.items()}
    except q.QualityError as exc:
        out["error"] = str(exc)
    return out


def parse_label_orders(texts: Sequence[str]) -> dict[str, list[str]]:
    """``["FIELD=a,b,c", ...]`` (as typed after ``--order`` or in ``?order=``) → field → labels,
    lowest first."""
    out: dict[str, list[str]] = {}
    for text in texts:
        name, sep, rest = text.partition("=")
        labels = [x.strip() for x in rest.split(",") if x.strip()]
        if not sep or not name.strip() or len(labels) < 2:
            raise InvalidInput(
                f"{text!r} is not a label order; write FIELD=LOW,...,HIGH, e.g. "
                "quality=bad,ok,good.", field="order",
            )
        out[name.strip()] = labels
    return out


def quality_report(
    project: ProjectContext, *, actor: User | None = None, n_resamples: int = 500,
    orders: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """Everything the dashboard and ``truelabel quality`` show, as plain JSON-able data.

    ``orders``: field name → its labels, lowest first: agreement on that field is ordinal in
    that order (default: the schema's, for ratings and choice fields marked ``ordinal``); each
    ordinal field reports the ``order`` it used.

    Computed once per change (see ``store.changes.quality_token``) and cached on the
    workspace; only the live progress counts are read afresh each time."""
    role = project.require(actor, "quality.read")
    sees_gold = role_allows(role, "gold.manage")
    given = {k: list(v) for k, v in sorted((orders or {}).items())}
    if given:
        _, schema = project.schema()
        unknown = sorted(set(given) - {f.name for f in schema.fields if f.categorical})
        if unknown:
            raise InvalidInput(
                f"No categorical field {unknown}; a label order is for one of "
                f"{[f.name for f in schema.fields if f.categorical]}.", field="order",
            )
    with project.db.read() as conn:
        token = changes.quality_token(conn, project.id)
    cached = project.ws.results.get(
        ("quality_report", project.id, n_resamples, repr(given)), token,
        lambda: _quality_report(project, n_resamples, given),
    )
    report = copy.deepcopy(cached)
    report["progress"].update(project.status())
    return report if sees_gold else hide_gold(report)


def _quality_report(
    project: ProjectContext, n_resamples: int, orders: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    _, schema = project.schema()
    wf = project.workflow()
    anns, gold = project._long_format()
    with project.db.read() as conn:
        reviews = qa_store.review_counts(conn, project.id)
        adjud = qa_store.adjudication_counts(conn, project.id)
        gt_rows = qa_store.ground_truth(conn, project.id)
        decided = qa_store.decided_items(conn, project.id)
    truth: dict[tuple[int, str], Any] = {}
    gt_items: set[int] = set()
    for r in gt_rows:
        gt_items.add(int(r["item_id"]))
        if r["method"] == "gold":
            # a gold answer (also of an item that is gold no more) is scored only in the
            # scorecards' gold figures, never as the aggregate: the rest of the report (and
            # the sign-off evidence made from it) must not depend on it
            continue
        truth[(int(r["item_id"]), r["field"])] = orjson.loads(r["value"])
    slices: dict[str, dict[str, Any]] = {}
    if wf.slice_keys:
        item_ids = {a["item_id"] for a in anns}
        for key in wf.slice_keys:
            slices[key] = {i: (project._item_data(i) or {}).get(key) for i in item_ids}
    orders = orders or {}
    fields = {
        f.name: field_agreement(
            f.with_order(orders[f.name]) if f.name in orders else f, anns, slices=slices,
            n_resamples=n_resamples,
        )
        for f in schema.fields
    }
    cat_fields = [f for f in schema.fields if f.categorical]
    # majority vote where no stored ground truth exists yet
    for f in cat_fields:
        votes: dict[int, Counter[Any]] = defaultdict(Counter)
        for a in anns:
            if f.name in a["value"] and not a["is_gold"]:
                votes[a["item_id"]][label_of(f, a["value"][f.name])] += 1
        for item, c in votes.items():
            if (item, f.name) not in truth:
                top = sorted(c.items(), key=lambda kv: (-kv[1], str(kv[0])))[0][0]
                truth[(item, f.name)] = (
                    top if not isinstance(top, str) or "|" not in top else top.split("|")
                )
    cards = scorecards(anns, gold, truth, cat_fields, flag_below=FLAG_BELOW)
    calibration = {f.name: _field_calibration(f, anns, gold, gt_rows) for f in cat_fields}
    report = {
        "project": project.name,
        "progress": {
            **project.status(),
            "gold_items": len(gold),
            "reviews": reviews,
            "adjudication": adjud,
            "ground_truth_items": len(gt_items | {i for i, _ in truth}),
        },
        "workflow": wf.model_dump(mode="json"),
        "fields": fields,
        "annotators": cards,
        "confusion": {f.name: confusion(f, anns, truth) for f in cat_fields},
        # a decided item's disagreement is settled: not a hot spot any more
        "hot_spots": hot_spots([a for a in anns if a["item_id"] not in decided], cat_fields),
        "calibration": calibration,
        "gold_visible": True,
    }
    return report


def _field_calibration(f: FieldSpec, anns: list[dict[str, Any]],
                       gold: dict[int, dict[str, Any]], gt_rows: list[Any]) -> dict[str, Any]:
    """ECE and reliability bins on gold of the method the stored truth came from."""
    used = Counter(r["method"] for r in gt_rows
                   if r["field"] == f.name and r["method"] not in ("gold", "adjudication"))
    rows = [(a["item_id"], a["username"], label_of(f, a["value"][f.name])) for a in anns
            if f.name in a["value"]]
    rows = [r for r in rows if r[2] is not None]
    return labels_calibration(
        [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows],
        {i: label_of(f, g[f.name]) for i, g in gold.items() if f.name in g},
        method=used.most_common(1)[0][0] if used else "majority")


#: Annotators below this gold accuracy or agreement are flagged.
FLAG_BELOW = 0.6
_GOLD_CARD_KEYS = ("gold_answered", "gold_correct", "gold_accuracy", "gold_ci")
#: calibration figures measured on gold (hidden with the scorecards' gold figures)
_GOLD_CALIBRATION_KEYS = ("ece_raw", "ece_calibrated", "bins_raw", "bins_calibrated")


def hide_gold(report: dict[str, Any]) -> dict[str, Any]:
    """The report as one who may not read gold sees it (a copy).

    The scorecards' gold figures say which answers on gold items were right; with the
    annotations a reviewer can read, that tells the gold answer. They are ``None`` here, and
    ``flagged`` rests on agreement alone. The calibration's figures on gold go too.
    """
    cards = []
    for card in report.get("annotators", []):
        c = {**card, **dict.fromkeys(_GOLD_CARD_KEYS)}
        agreement, compared = card.get("agreement_with_aggregate"), card.get("compared") or 0
        c["flagged"] = bool(agreement is not None and compared >= 5 and agreement < FLAG_BELOW)
        cards.append(c)
    calibration = {name: {k: v for k, v in c.items() if k not in _GOLD_CALIBRATION_KEYS}
                   for name, c in report.get("calibration", {}).items()}
    return {**report, "annotators": cards, "calibration": calibration, "gold_visible": False}


def scorecards(
    anns: list[dict[str, Any]],
    gold: dict[int, dict[str, Any]],
    truth: dict[tuple[int, str], Any],
    fields: Sequence[FieldSpec],
    *,
    flag_below: float,
) -> list[dict[str, Any]]:
    by_user: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for a in anns:
        if a["origin"] == "human":
            by_user[a["username"]].append(a)
    cards = []
    for user, rows in sorted(by_user.items()):
        g_n = g_ok = 0
        agree_n = agree_ok = 0
        for a in rows:
            if a["item_id"] in gold:
                expected = gold[a["item_id"]]
                g_n += 1
                g_ok += all(a["value"].get(k) == v for k, v in expected.items())
                continue
            for f in fields:
                t = truth.get((a["item_id"], f.name))
                if t is not None and f.name in a["value"]:
                    agree_n += 1
                    mine = a["value"][f.name]
                    agree_ok += (mine == t) or (label_of(f, mine) == t)
        times = [a["time_spent_ms"] for a in rows if a["time_spent_ms"]]
        acc = g_ok / g_n if g_n else None
        agreement = agree_ok / agree_n if agree_n else None
        ci = wilson(g_ok, g_n)
        flagged = bool(
            (acc is not None and g_n >= 3 and acc < flag_below)
            or (agreement is not None and agree_n >= 5 and agreement < flag_below)
        )
        cards.append(
            {
                "annotator": user,
                "volume": len(rows),
                "gold_answered": g_n,
                "gold_correct": g_ok,
                "gold_accuracy": _num(acc),
                "gold_ci": [round(ci[0], 4), round(ci[1], 4)] if ci else None,
                "agreement_with_aggregate": _num(agreement),
                "compared": agree_n,
                "median_seconds": round(median(times) / 1000, 2) if times else None,
                "flagged": flagged,
            }
        )
    return cards


def confusion(
    f: FieldSpec, anns: list[dict[str, Any]], truth: dict[tuple[int, str], Any]
) -> dict[str, Any]:
    """Annotator label (columns) against the aggregated label (rows), non-gold items."""
    counts: Counter[tuple[str, str]] = Counter()
    for a in anns:
        t = truth.get((a["item_id"], f.name))
        if t is None or a["is_gold"] or f.name not in a["value"]:
            continue
        counts[
            (
                str(label_of(f, t) if isinstance(t, list) else t),
                str(label_of(f, a["value"][f.name])),
            )
        ] += 1
    labels = sorted({x for pair in counts for x in pair})
    return {"labels": labels, "matrix": [[counts[(r, c)] for c in labels] for r in labels]}


def hot_spots(
    anns: list[dict[str, Any]], fields: Sequence[FieldSpec], top: int = 10
) -> list[dict[str, Any]]:
    """Items with the lowest majority share on any categorical field."""
    per_item: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for a in anns:
        if not a["is_gold"]:
            per_item[a["item_id"]].append(a)
    spots = []
    for item, rows in per_item.items():
        if len(rows) < 2:
            continue
        for f in fields:
            labels = [label_of(f, r["value"][f.name]) for r in rows if f.name in r["value"]]
            if len(labels) < 2:
                continue
            share = Counter(labels).most_common(1)[0][1] / len(labels)
            if share < 1:
                spots.append(
                    {
                        "item_id": item,
                        "field": f.name,
                        "majority_share": round(share, 4),
                        "labels": dict(Counter(map(str, labels))),
                    }
                )
    spots.sort(key=lambda s: (s["majority_share"], s["item_id"]))
    return spots[:top]
