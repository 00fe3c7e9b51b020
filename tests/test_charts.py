"""Server-made SVG charts: well-formed, accessible, and hostile labels stay text."""

from __future__ import annotations

import ast
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import truelabel.charts as charts
from truelabel.charts import Bar, bars, confusion_matrix, report_chart

NS = "{http://www.w3.org/2000/svg}"
HOSTILE = '</svg><script>alert(1)</script><img src=x onerror="alert(2)"> & \'q\''


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # raises on anything that is not well-formed XML
    assert root.tag == f"{NS}svg"
    assert root.get("role") == "img"
    title = root.find(f"{NS}title")
    assert title is not None and (title.text or "").strip()
    assert root.find(f"{NS}desc") is not None
    assert root.get("aria-labelledby") == "chart-title chart-desc"
    # nothing active: no script, no foreign objects, no event handlers, no links
    for el in root.iter():
        assert el.tag.split("}")[-1] not in ("script", "foreignObject", "a", "image"), el.tag
        assert not [k for k in el.attrib if k.lower().startswith("on") or "href" in k], el.attrib
    return root


def texts(root: ET.Element) -> list[str]:
    return ["".join(el.itertext()) for el in root.iter(f"{NS}text")]


def test_confusion_matrix_counts_and_labels() -> None:
    svg = confusion_matrix(["cat", "dog"], [[5, 1], [2, 7]], title="Confusion: animal")
    root = parse(svg)
    shown = texts(root)
    for count in ("5", "1", "2", "7"):
        assert count in shown
    assert shown.count("cat") == 2 and shown.count("dog") == 2  # row and column headers
    assert root.find(f"{NS}title").text == "Confusion: animal"
    assert "15 labels; 12 on the diagonal" in root.find(f"{NS}desc").text
    cells = [r for r in root.iter(f"{NS}rect") if r.get("class") == "cell"]
    assert len(cells) == 4
    # the larger share of a row is the darker cell
    fills = {c.get("fill") for c in cells}
    assert len(fills) == 4


def test_confusion_matrix_shape_is_checked_and_empty_is_drawn() -> None:
    with pytest.raises(ValueError):
        confusion_matrix(["a", "b"], [[1, 2]], title="x")
    root = parse(confusion_matrix([], [], title="Empty"))
    assert "No labels to compare yet." in texts(root)


def test_bars_with_whiskers_negative_values_and_highlight() -> None:
    svg = bars(
        [
            Bar("alice", 0.9, 0.7, 1.0, note="9/10"),
            Bar("mallory", 0.3, 0.1, 0.6, note="3/10 flagged", highlight=True),
            Bar("intent", -0.2, -0.4, 0.1),
            Bar("no value yet", None),
        ],
        title="Gold accuracy",
        axis="share right",
    )
    root = parse(svg)
    bar_rects = [r for r in root.iter(f"{NS}rect") if "bar" in (r.get("class") or "")]
    assert len(bar_rects) == 3
    assert [r.get("class") for r in bar_rects].count("bar hi") == 1
    whiskers = [p for p in root.iter(f"{NS}path") if p.get("class") == "wh"]
    assert len(whiskers) == 3
    shown = texts(root)
    assert "alice" in shown and "mallory" in shown
    assert any("-0.2" in t for t in shown)  # the axis widened below zero
    assert "-0.20" in " ".join(shown)
    assert all(float(r.get("width")) > 0 for r in bar_rects)
    assert "Nothing to show yet." in texts(parse(bars([], title="None")))


@pytest.mark.parametrize("label", [HOSTILE, "a\x00b\x1bc", "ünïcødé ✓ 🐍", "x" * 300])
def test_hostile_and_odd_labels_stay_text(label: str) -> None:
    for svg in (
        confusion_matrix([label, "ok"], [[1, 0], [0, 1]], title=f"Confusion {label}"),
        bars([Bar(label, 0.5, 0.2, 0.8, note=label)], title=label, axis=label),
        report_chart(
            {"fields": {label: {"alpha": 0.4, "ci_low": 0.1, "ci_high": 0.6,
                                "per_label": {label: 0.3}}},
             "annotators": [{"annotator": label, "gold_answered": 3, "gold_correct": 1,
                             "gold_accuracy": 0.33, "gold_ci": [0.06, 0.79], "flagged": True}],
             "confusion": {label: {"labels": [label], "matrix": [[2]]}}},
            "confusion",
        ),
    ):
        assert "<script" not in svg and "<img" not in svg and "</svg><" not in svg
        assert svg.count("</svg>") == 1 and svg.endswith("</svg>")
        root = parse(svg)
        if label == HOSTILE:
            joined = " ".join(texts(root)) + (root.find(f"{NS}title").text or "")
            assert "</svg><script>" in joined  # shown to the reader, as text


def test_report_charts_by_name() -> None:
    report = {
        "fields": {
            "intent": {"alpha": 0.62, "ci_low": 0.5, "ci_high": 0.71,
                       "per_label": {"question": 0.7, "praise": 0.4}},
            "entities": {"type": "spans", "f1_exact": 0.8},
            "note": {"error": "no agreement measure yet"},
        },
        "annotators": [
            {"annotator": "ann", "gold_answered": 4, "gold_correct": 4, "gold_accuracy": 1.0,
             "gold_ci": [0.51, 1.0], "flagged": False},
            {"annotator": "rnd", "gold_answered": 4, "gold_correct": 1, "gold_accuracy": 0.25,
             "gold_ci": [0.05, 0.7], "flagged": True},
            {"annotator": "new", "gold_answered": 0},
        ],
        "confusion": {"intent": {"labels": ["praise", "question"], "matrix": [[3, 1], [0, 4]]}},
    }
    agreement = texts(parse(report_chart(report, "agreement")))
    assert "intent" in agreement and "entities" in agreement and "note" not in agreement
    people = parse(report_chart(report, "annotators"))
    assert "rnd" in texts(people) and "new" not in texts(people)
    assert [r.get("class") for r in people.iter(f"{NS}rect") if "bar" in (r.get("class") or "")] \
        == ["bar", "bar hi"]
    assert "4" in texts(parse(report_chart(report, "confusion", field="intent")))
    assert "praise" in texts(parse(report_chart(report, "per-label")))
    for bad in (("nope", None), ("confusion", "entities"), ("per-label", "missing")):
        with pytest.raises(LookupError):
            report_chart(report, bad[0], field=bad[1])
    assert set(charts.CHARTS) == {"agreement", "annotators", "confusion", "per-label",
                                  "reliability"}
    report["calibration"] = {"intent": {
        "ece_raw": 0.2, "ece_calibrated": 0.05,
        "bins_raw": [{"mean_confidence": 0.95, "accuracy": 0.7, "count": 9}],
        "bins_calibrated": [{"mean_confidence": 0.72, "accuracy": 0.7, "count": 9},
                            {"mean_confidence": None, "accuracy": None, "count": 0}]}}
    diagram = parse(report_chart(report, "reliability"))
    assert "calibrated, ECE 0.050" in texts(diagram)
    assert len(list(diagram.iter(f"{NS}circle"))) == 4  # two bins with items, two in the legend


def test_charts_are_pure_stdlib() -> None:
    """No I/O, no third-party imports: the package only uses the standard library."""
    folder = Path(charts.__file__).parent
    for path in folder.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] in sys.stdlib_module_names, (path.name, name)
            assert not {"os", "io", "pathlib", "socket", "subprocess"} & {
                n.split(".")[0] for n in names
            }, (path.name, names)
        calls = {n.func.id for n in ast.walk(tree)
                 if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
        assert "open" not in calls, path.name
