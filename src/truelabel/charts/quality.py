"""The quality dashboard's charts, drawn from the plain data of a quality report.

Each function takes the part of the report it draws (JSON-like dicts and lists, as
``truelabel.core.report.quality_report`` returns them) and gives back an SVG document.
:func:`report_chart` picks one by name, for the server's ``/quality/charts/{name}.svg``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .reliability import reliability_diagram
from .svg import Bar, bars, confusion_matrix

__all__ = [
    "CHARTS",
    "agreement_chart",
    "annotator_chart",
    "confusion_chart",
    "per_label_chart",
    "reliability_chart",
    "report_chart",
]


def _f(x: Any) -> float | None:
    return None if x is None else float(x)


def agreement_chart(fields: Mapping[str, Mapping[str, Any]]) -> str:
    """Agreement per field (Krippendorff's alpha, or span F1) with its bootstrap interval."""
    rows = []
    for name, f in fields.items():
        if f.get("alpha") is not None:
            rows.append(Bar(str(name), _f(f["alpha"]), _f(f.get("ci_low")), _f(f.get("ci_high")),
                            note="alpha"))
        elif f.get("f1_exact") is not None:
            rows.append(Bar(str(name), _f(f["f1_exact"]), note="span F1"))
    return bars(
        rows,
        title="Agreement per field",
        axis="Krippendorff's alpha (whiskers: 95% bootstrap interval) or span F1",
        domain=(0.0, 1.0),
        empty="No field has enough overlapping labels for agreement yet.",
    )


def annotator_chart(annotators: Sequence[Mapping[str, Any]]) -> str:
    """Gold accuracy per annotator with its Wilson interval; flagged annotators in red."""
    rows = []
    for a in annotators:
        if a.get("gold_answered"):
            ci = a.get("gold_ci") or [None, None]
            rows.append(
                Bar(
                    str(a["annotator"]),
                    _f(a.get("gold_accuracy")),
                    _f(ci[0]),
                    _f(ci[1]),
                    note=f"{a.get('gold_correct', 0)}/{a['gold_answered']}"
                    + (" flagged" if a.get("flagged") else ""),
                    highlight=bool(a.get("flagged")),
                )
            )
    return bars(
        rows,
        title="Gold accuracy per annotator",
        axis="share of gold items answered right (whiskers: 95% Wilson interval)",
        empty="No annotator has answered a gold item yet.",
    )


def per_label_chart(field: str, per_label: Mapping[str, Any]) -> str:
    """Agreement per label of one field (one-vs-rest alpha)."""
    rows = [Bar(str(k), _f(v)) for k, v in sorted(per_label.items(), key=lambda kv: str(kv[0]))]
    return bars(
        rows,
        title=f"Agreement per label: {field}",
        axis="one-vs-rest agreement",
        empty="No per-label agreement for this field yet.",
    )


def confusion_chart(field: str, confusion: Mapping[str, Any]) -> str:
    """Annotator labels against the aggregated label of one field, with counts."""
    return confusion_matrix(
        confusion.get("labels", []),
        confusion.get("matrix", []),
        title=f"Confusion: {field}",
    )


def reliability_chart(field: str, calibration: Mapping[str, Any] | None) -> str:
    """Reliability diagram of one field's aggregated labels on gold (raw and calibrated)."""
    cal = calibration or {}
    return reliability_diagram(
        cal.get("bins_raw", []), cal.get("bins_calibrated", []),
        title=f"Calibration: {field}", ece_raw=_f(cal.get("ece_raw")),
        ece_calibrated=_f(cal.get("ece_calibrated")),
        empty=f"{field}: " + str(cal.get("note") or "no gold items to measure calibration on."),
    )


def _field(report: Mapping[str, Any], section: str, field: str | None) -> str:
    names = list(report.get(section, {}))
    if field is None:
        if not names:
            raise LookupError(f"This project has no field with a {section} chart.")
        return str(names[0])
    if field not in names:
        raise LookupError(f"No {section} chart for field {field!r}; fields: {names}.")
    return field


def report_chart(report: Mapping[str, Any], name: str, *, field: str | None = None) -> str:
    """The chart ``name`` (one of :data:`CHARTS`) of a quality report. ``field`` picks the
    field of per-field charts (default: the first). LookupError for an unknown name or field."""
    if name == "agreement":
        return agreement_chart(report.get("fields", {}))
    if name == "annotators":
        return annotator_chart(report.get("annotators", []))
    if name == "confusion":
        f = _field(report, "confusion", field)
        return confusion_chart(f, report["confusion"][f])
    if name == "per-label":
        per = {k: v for k, v in report.get("fields", {}).items() if "per_label" in v}
        f = _field({"per_label": per}, "per_label", field)
        return per_label_chart(f, per[f]["per_label"])
    if name == "reliability":
        f = _field(report, "calibration", field)
        return reliability_chart(f, report["calibration"][f])
    raise LookupError(f"No chart {name!r}; charts are {list(CHARTS)}.")


CHARTS = ("agreement", "annotators", "confusion", "per-label", "reliability")
