"""Every aggregation's confidence is calibrated: `truelabel aggregate` (file) and a project's
aggregate and quality report carry the calibration, its ECE on gold and the reliability bins;
the quality report's reliability chart draws them."""

from __future__ import annotations

import csv
import gzip
import json
import random
from pathlib import Path

import pytest
from click.testing import CliRunner

from crowd_data import crowd_file
from truelabel import Workspace
from truelabel.charts import report_chart
from truelabel.cli.main import main
from truelabel.core.answers import aggregate_from_file


@pytest.fixture(scope="module")
def dog(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """s_dog's answers, and a seeded quarter of its truth as the gold file."""
    d = tmp_path_factory.mktemp("dog")
    answers = d / "answers.csv"
    answers.write_bytes(gzip.decompress(crowd_file("s_dog", "answer.csv").read_bytes()))
    rows = list(csv.reader(gzip.decompress(
        crowd_file("s_dog", "truth.csv").read_bytes()).decode().splitlines()))[1:]
    rng = random.Random(0)
    gold = d / "gold.csv"
    with gold.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["item", "label"])
        w.writerows(r for r in rows if rng.random() < 0.25)
    return answers, gold


COLS = {"item_col": "question", "annotator_col": "worker", "label_col": "answer"}


def test_aggregate_with_gold_reports_calibrated_ece(dog: tuple[Path, Path]) -> None:
    answers, gold = dog
    data = aggregate_from_file(answers, method="dawid_skene", gold=gold, **COLS)
    cal = data["calibration"]
    assert cal["method"] in ("temperature", "logistic", "isotonic")
    assert cal["ece_calibrated"] < cal["ece_raw"]
    assert len(cal["bins_raw"]) == len(cal["bins_calibrated"]) == 10
    assert sum(b["count"] for b in cal["bins_raw"]) == cal["gold_items"] > 100
    # s_dog's Dawid-Skene is over-confident (0.991): the reported confidence is not any more
    assert cal["mean_confidence_raw"] > 0.98
    assert data["mean_confidence"] < cal["mean_confidence_raw"] - 0.05


def test_aggregate_without_gold_never_raises_confidence(dog: tuple[Path, Path]) -> None:
    answers, _ = dog
    for method in ("majority", "dawid_skene"):
        cal = aggregate_from_file(answers, method=method, **COLS)["calibration"]
        assert cal["method"] == "heldout_temperature"
        assert cal["mean_confidence"] <= cal["mean_confidence_raw"]
        assert "bins_raw" not in cal  # no gold: nothing to measure ECE on


def test_gold_methods_calibrate_out_of_fold(dog: tuple[Path, Path]) -> None:
    answers, gold = dog
    cal = aggregate_from_file(answers, method="gold_dawid_skene", gold=gold,
                              **COLS)["calibration"]
    # gold-anchored DS scores 1 on its own gold; the ECE comes from refits without each fold
    assert cal["gold_in_fit"] is True
    assert cal["ece_raw"] > 0.05


def test_cli_prints_and_json_carries_the_calibration(dog: tuple[Path, Path]) -> None:
    answers, gold = dog
    args = ["aggregate", str(answers), "--method", "dawid_skene", "--gold", str(gold),
            "--item-col", "question", "--annotator-col", "worker", "--label-col", "answer"]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    assert "calibration" in r.output and "gold items (out-of-fold)" in r.output
    r = CliRunner().invoke(main, [*args, "--json"])
    data = json.loads(r.output)
    assert len(data["calibration"]["bins_calibrated"]) == 10


SCHEMA = {"fields": [{"name": "intent", "type": "choice", "options": ["a", "b", "c"]}]}


def test_project_aggregate_and_report_carry_the_calibration(ws: Workspace,
                                                            tmp_path: Path) -> None:
    p = ws.create_project("cal", SCHEMA, overlap=3)
    truth = {f"i{i}": "abc"[(i * 7) % 3] for i in range(60)}
    p.import_records([{"id": e, "text": e} for e in truth])
    gold = tmp_path / "gold.jsonl"
    gold.write_text("".join(json.dumps({"id": e, "intent": t}) + "\n"
                            for e, t in list(truth.items())[:30]))
    p.import_gold(gold)
    ids = {r["external_id"]: r["id"] for r in p.items(limit=500)}
    rng = random.Random(3)
    for name in ("u1", "u2", "u3"):
        who = ws.add_user(name, "password-123", role="annotator")
        p.add_member(who, "annotator")
        for e, t in truth.items():
            # noisy enough (60 % right) that DS is over-confident on the 30 gold items;
            # with a cleaner crowd the out-of-fold Brier score may rightly keep it raw
            p.annotate(ids[e], {"intent": t if rng.random() < 0.6 else rng.choice("abc")}, who)
    summary = p.aggregate(method="dawid_skene")
    cal = summary["fields"]["intent"]["calibration"]
    assert cal["gold_items"] == 30 and cal["ece_raw"] is not None
    stored = p.ground_truth()
    plain = [stored[ids[e]]["intent"]["confidence"] for e in list(truth)[30:]]
    assert all(0.0 < c <= 1.0 for c in plain)
    assert cal["mean_confidence"] != cal["mean_confidence_raw"]  # the calibrated one is stored
    assert stored[ids["i0"]]["intent"]["method"] == "gold"  # gold items stay the known answer
    report = p.quality_report(n_resamples=20)
    assert report["calibration"]["intent"]["aggregation"] == "dawid_skene"
    svg = report_chart(report, "reliability", field="intent")
    assert "Calibration: intent" in svg and svg.count("<circle") >= 4
    r = CliRunner().invoke(main, ["quality", str(ws.location), "-p", "cal", "--resamples", "20"])
    assert r.exit_code == 0, r.output
    assert "Calibrated confidence" in r.output and "gold items (out-of-fold)" in r.output
    empty = report_chart({"calibration": {"intent": {"method": "none", "note": "no gold"}}},
                         "reliability")
    assert "no gold" in empty and "<circle" not in empty
