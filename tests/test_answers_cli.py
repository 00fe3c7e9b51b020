"""`truelabel agreement`, `aggregate` and `quality` on answer files from any tool.

Small hand-made files cover each kind of bad input; the crowd benchmark D_PosSent (in
tests/data/crowd) checks the numbers on real data.
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result

from crowd_data import unpack
from truelabel import Workspace
from truelabel import quality as q
from truelabel.cli import answers_cmds
from truelabel.cli.main import main
from truelabel.core.answers import aggregate_from_file, agreement_from_file
from truelabel.domain.errors import InvalidInput

# Three annotators, five items; "i5" has one answer, "i6" only an empty label.
TABLE = [
    ("i1", "ann", "cat"), ("i1", "bob", "cat"), ("i1", "cy", "cat"),
    ("i2", "ann", "dog"), ("i2", "bob", "dog"), ("i2", "cy", "cat"),
    ("i3", "ann", "dog"), ("i3", "bob", "dog"), ("i3", "cy", "dog"),
    ("i4", "ann", "bird"), ("i4", "bob", "cat"), ("i4", "cy", "bird"),
    ("i5", "ann", "cat"),
]


@pytest.fixture(autouse=True)
def wide_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables as on a wide terminal, so a row is one line of output."""
    monkeypatch.setattr(answers_cmds.out, "width", 200)


def run(*args: Any) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def run_json(*args: Any) -> dict[str, Any]:
    r = run(*args, "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def fails(*args: Any) -> str:
    """Run a command that must fail with the one-line error; return that message."""
    r = run(*args)
    assert r.exit_code == 1, r.output
    assert "Traceback" not in r.output
    return " ".join(r.stderr.split())  # rich wraps long lines


def write_csv(path: Path, header: list[str], rows: list[tuple[Any, ...]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def answers(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "answers.csv", ["item", "annotator", "label"], TABLE)


def engine_ratings(rows: list[tuple[Any, ...]] = TABLE) -> q.Ratings:
    items, anns, labels = zip(*rows, strict=True)
    return q.encode_ratings(items, anns, labels)


# -- agreement: numbers -------------------------------------------------------------------


def test_agreement_equals_the_engine(answers: Path) -> None:
    r = engine_ratings()
    data = run_json("agreement", answers, "--resamples", 200, "--seed", 3)
    assert data["value"] == pytest.approx(q.krippendorff_alpha(r))
    ci = q.krippendorff_alpha_ci(r, n_resamples=200, seed=3)
    assert data["ci"]["low"] == pytest.approx(ci.low) and data["ci"]["high"] == pytest.approx(
        ci.high
    )
    assert data["ci"]["confidence"] == 0.95 and data["ci"]["resamples"] == 200
    per = q.per_label_agreement(r)
    assert [row["label"] for row in data["per_label"]] == ["bird", "cat", "dog"]
    for row in data["per_label"]:
        assert row["value"] == pytest.approx(per[row["label"]].value)
    assert (data["items"], data["annotators"], data["answers"]) == (5, 3, 13)
    assert data["items_pairable"] == 4
    assert data["columns"] == {"item": "item", "annotator": "annotator", "label": "label"}

    # Same seed, same interval; a table for people shows the value and the interval.
    assert run_json("agreement", answers, "--resamples", 200, "--seed", 3) == data
    text = run("agreement", answers, "--resamples", 200, "--seed", 3).stdout
    assert f"{data['value']:.3f}" in text and "95% CI" in text and "bird" in text


@pytest.mark.parametrize("metric", ["fleiss", "percent"])
def test_other_metrics_equal_the_engine(tmp_path: Path, metric: str) -> None:
    rows = TABLE[:12]  # every item has three answers, as Fleiss' kappa needs
    f = write_csv(tmp_path / "a.csv", ["item", "annotator", "label"], rows)
    engine = {"fleiss": q.fleiss_kappa, "percent": q.percent_agreement}[metric]
    data = run_json("agreement", f, "--metric", metric, "--resamples", 50, "--confidence", 0.9)
    assert data["value"] == pytest.approx(engine(engine_ratings(rows)))
    assert data["ci"]["confidence"] == 0.9


def test_cohen_weighted_and_pairs(tmp_path: Path) -> None:
    a = [1, 2, 3, 3, 2, 1, 4, 4, 2, 3]
    b = [1, 2, 3, 2, 2, 1, 4, 3, 1, 3]
    rows = [(f"u{i}", "ann", x) for i, x in enumerate(a)]
    rows += [(f"u{i}", "bob", x) for i, x in enumerate(b)]
    f = write_csv(tmp_path / "two.csv", ["item", "annotator", "label"], rows)
    data = run_json("agreement", f, "--metric", "cohen", "--weights", "quadratic", "--pairs",
                    "--resamples", 100)
    assert data["value"] == pytest.approx(q.cohen_kappa(a, b, weights="quadratic"))
    assert data["metric_name"] == "quadratic-weighted Cohen's kappa"
    assert data["labels"] == [1, 2, 3, 4]  # numeric text read as numbers, sorted numerically
    assert len(data["pairs"]) == 1 and data["pairs"][0]["value"] == pytest.approx(data["value"])
    # Interval-level alpha works because the labels are numbers.
    alpha = run_json("agreement", f, "--level", "interval", "--resamples", 50)
    assert alpha["value"] == pytest.approx(
        q.krippendorff_alpha(engine_ratings(rows), level="interval")
    )


def test_pairs_and_gold_on_agreement(answers: Path, tmp_path: Path) -> None:
    gold = write_csv(tmp_path / "gold.csv", ["item", "truth"], [("i1", "cat"), ("i2", "dog")])
    data = run_json("agreement", answers, "--pairs", "--gold", gold, "--resamples", 50)
    pairs = {(p["a"], p["b"]): p for p in data["pairs"]}
    assert set(pairs) == {("ann", "bob"), ("ann", "cy"), ("bob", "cy")}
    assert pairs[("ann", "bob")]["items"] == 4
    acc = {row["annotator"]: row["accuracy"] for row in data["gold"]["annotators"]}
    assert acc == {"ann": 1.0, "bob": 1.0, "cy": 0.5}
    assert data["gold"]["columns"] == {"item": "item", "label": "truth"}


# -- bad input ----------------------------------------------------------------------------


def test_cohen_needs_exactly_two_annotators(answers: Path) -> None:
    msg = fails("agreement", answers, "--metric", "cohen")
    assert "exactly two annotators" in msg and "has 3 (ann, bob, cy)" in msg
    assert "--pairs" in msg  # says what to do instead


def test_options_that_do_not_fit_the_metric(answers: Path) -> None:
    assert "Cohen's kappa" in fails("agreement", answers, "--weights", "linear")
    assert "alpha" in fails("agreement", answers, "--metric", "percent", "--level", "ordinal")
    assert "numeric labels" in fails("agreement", answers, "--level", "interval")


def test_missing_column_lists_the_columns(tmp_path: Path) -> None:
    f = write_csv(tmp_path / "odd.csv", ["item", "annotator", "verdict"], [("a", "b", "c")])
    msg = fails("agreement", f)
    assert "odd.csv" in msg and "no label column" in msg
    assert "['item', 'annotator', 'verdict']" in msg and "--label-col" in msg
    # Naming it works; naming a column that is not there says which columns there are.
    assert run("aggregate", f, "--label-col", "verdict").exit_code == 0
    msg = fails("aggregate", f, "--label-col", "answer")
    assert "no column 'answer'" in msg and "['item', 'annotator', 'verdict']" in msg


def test_malformed_lines_name_file_and_line(tmp_path: Path) -> None:
    f = tmp_path / "bad.csv"
    f.write_text("item,annotator,label\ni1,ann,cat\ni1,bob\n", encoding="utf-8")
    msg = fails("agreement", f)
    assert "bad.csv, line 3" in msg and "2 values for 3 columns" in msg
    assert "imported" not in msg
    j = tmp_path / "bad.jsonl"
    j.write_text('{"item": 1, "annotator": "a", "label": "x"}\n{"item": 2,\n', encoding="utf-8")
    msg = fails("aggregate", j)
    assert "bad.jsonl, line 2" in msg and "malformed JSON" in msg
    gap = write_csv(tmp_path / "gap.csv", ["item", "annotator", "label"],
                    [("i1", "ann", "x"), ("i2", "", "y")])
    msg = fails("aggregate", gap)
    assert "gap.csv, line 3" in msg and "no annotator id" in msg


def test_unknown_method_lists_known_ones(answers: Path) -> None:
    r = run("aggregate", answers, "--method", "no_such_method")
    assert r.exit_code == 2
    for name in ("auto", "majority", "weighted", "dawid_skene", "gold_dawid_skene", "one_coin",
                 "bayesian_dawid_skene"):
        assert name in r.output
    with pytest.raises(InvalidInput, match="known: auto, bayesian_dawid_skene, dawid_skene"):
        aggregate_from_file(answers, method="no_such_method")
    with pytest.raises(InvalidInput, match="known: alpha, fleiss, cohen, percent"):
        agreement_from_file(answers, metric="kappa")


def test_repeated_answers(tmp_path: Path) -> None:
    rows = [("i1", "a", "x"), ("i1", "a", "y"), ("i1", "b", "x"), ("i2", "a", "x"),
            ("i2", "b", "y")]
    f = write_csv(tmp_path / "dup.csv", ["item", "annotator", "label"], rows)
    first = run_json("agreement", f, "--resamples", 20)
    assert first["duplicates"] == {"found": 1, "kept": "first"}
    assert first["value"] == pytest.approx(
        q.krippendorff_alpha(engine_ratings(rows).drop_duplicates(keep="first"))
    )
    last = run_json("agreement", f, "--resamples", 20, "--duplicates", "last")
    assert last["value"] == pytest.approx(
        q.krippendorff_alpha(engine_ratings(rows).drop_duplicates(keep="last"))
    )
    assert "repeat an (item, annotator) pair" in fails("agreement", f, "--duplicates", "error")
    # Aggregation counts every answer, as crowd-kit does.
    assert run_json("aggregate", f)["results"][0]["answers"] == 3


def test_missing_file_and_unknown_output_suffix(answers: Path, tmp_path: Path) -> None:
    assert "No such file" in fails("agreement", tmp_path / "nope.csv")
    msg = fails("aggregate", answers, "--out", tmp_path / "labels.xlsx")
    assert "labels.xlsx" in msg and ".parquet" in msg
    assert not list(tmp_path.glob("*labels*"))


def test_item_with_no_labels_is_reported(tmp_path: Path) -> None:
    rows = [*TABLE, ("i6", "ann", ""), ("i6", "bob", "")]
    f = write_csv(tmp_path / "holes.csv", ["item", "annotator", "label"], rows)
    out = tmp_path / "labels.csv"
    data = run_json("aggregate", f, "--out", out)
    assert data["items"] == 6 and data["items_without_label"] == 1
    assert data["items_without_label_sample"] == ["i6"] and data["answers_without_label"] == 2
    with out.open(encoding="utf-8") as fh:
        written = {row["item"]: row for row in csv.DictReader(fh)}
    assert written["i6"]["label"] == "" and written["i6"]["confidence"] == ""
    assert written["i2"]["label"] == "dog" and float(written["i2"]["confidence"]) == pytest.approx(
        2 / 3
    )
    r = run("aggregate", f)
    assert r.exit_code == 0 and "(no label)" in r.stdout
    assert "1 item(s) have no label: i6" in " ".join(r.stderr.split())
    ag = run_json("agreement", f, "--resamples", 20)
    assert ag["items_without_label"] == 1
    assert ag["value"] == pytest.approx(q.krippendorff_alpha(engine_ratings()))


def test_single_annotator(tmp_path: Path) -> None:
    f = write_csv(tmp_path / "solo.csv", ["item", "annotator", "label"],
                  [("a", "ann", "x"), ("b", "ann", "y"), ("c", "ann", "x")])
    data = run_json("aggregate", f)
    assert [(r["item"], r["label"], r["confidence"]) for r in data["results"]] == [
        ("a", "x", 1.0), ("b", "y", 1.0), ("c", "x", 1.0),
    ]
    msg = fails("aggregate", f, "--method", "dawid_skene")
    assert "at least two annotators" in msg and "majority" in msg
    assert "two or more ratings" in fails("agreement", f)


def test_annotator_who_answered_only_gold(tmp_path: Path) -> None:
    rows = [*TABLE, ("i1", "gus", "cat"), ("i2", "gus", "cat")]
    f = write_csv(tmp_path / "a.csv", ["item", "annotator", "label"], rows)
    gold = write_jsonl(tmp_path / "gold.jsonl",
                       [{"item": "i1", "label": "cat"}, {"item": "i2", "label": "dog"},
                        {"item": "zz", "label": "dog"}])
    for method in ("majority", "weighted", "dawid_skene", "gold_dawid_skene"):
        data = run_json("aggregate", f, "--method", method, "--gold", gold)
        gus = next(a for a in data["annotators"] if a["annotator"] == "gus")
        assert (gus["answers"], gus["gold_answers"], gus["gold_accuracy"]) == (2, 2, 0.5)
        assert data["gold"]["items"] == 3 and data["gold"]["items_answered"] == 2
        assert data["gold"]["items_scored"] == 2
        labels = {r["item"]: r["label"] for r in data["results"]}
        assert labels["i3"] == "dog" and labels["i1"] == "cat"
    data = run_json("aggregate", f, "--method", "weighted", "--gold", gold)
    assert data["default_weight"] == pytest.approx(np.mean([1.0, 1.0, 0.5, 0.5]))


def test_methods_that_need_gold(answers: Path, tmp_path: Path) -> None:
    for method in ("weighted", "gold_dawid_skene"):
        assert "--gold" in fails("aggregate", answers, "--method", method)
    elsewhere = write_csv(tmp_path / "g.csv", ["item", "label"], [("x1", "cat")])
    msg = fails("aggregate", answers, "--method", "weighted", "--gold", elsewhere)
    assert "none of the 1 gold items was answered" in msg
    # A gold label nobody gave is still scored (as wrong), not an error.
    unseen = write_csv(tmp_path / "u.csv", ["item", "label"], [("i1", "fish"), ("i3", "dog")])
    data = run_json("aggregate", answers, "--gold", unseen)
    assert data["gold"]["accuracy"] == 0.5 and "fish" in data["labels"]


def test_aliases_jsonl_and_parquet_output(tmp_path: Path) -> None:
    rows = [{"task": i, "worker": w, "answer": lab} for i, w, lab in
            [(1, "w1", 2), (1, "w2", 2), (2, "w1", 5), (2, "w2", 4), (3, "w1", 1), (3, "w2", 1)]]
    f = write_jsonl(tmp_path / "crowd.jsonl", rows)
    truth = write_csv(tmp_path / "truth.csv", ["task", "truth"], [(1, 2), (2, 5)])
    out = tmp_path / "out" / "labels.parquet"
    out.parent.mkdir()
    data = run_json("aggregate", f, "--method", "majority", "--gold", truth, "--out", out)
    assert data["columns"] == {"item": "task", "annotator": "worker", "label": "answer"}
    assert data["out"] == str(out) and "results" not in data
    table = pq.read_table(out)
    assert table.column_names == ["item", "label", "confidence", "answers", "tied"]
    assert table.schema.field("label").type == pa.int64()
    got = dict(zip(table["item"].to_pylist(), table["label"].to_pylist(), strict=True))
    assert got == {"1": 2, "2": 4, "3": 1}  # tie 4/5 goes to the lowest
    assert data["gold"]["accuracy"] == 0.5
    assert [p.name for p in out.parent.iterdir()] == ["labels.parquet"]  # no temp file left
    jl = tmp_path / "labels.jsonl"
    run_json("aggregate", f, "--tie", "random", "--seed", 1, "--out", jl)
    assert len(jl.read_text().splitlines()) == 3


def test_parquet_input_with_named_columns(tmp_path: Path) -> None:
    f = tmp_path / "a.parquet"
    items, anns, labels = zip(*TABLE, strict=True)
    pq.write_table(pa.table({"doc": items, "coder": anns, "tag": labels}), f)
    data = run_json("agreement", f, "--item-col", "doc", "--annotator-col", "coder",
                    "--label-col", "tag", "--resamples", 20)
    assert data["value"] == pytest.approx(q.krippendorff_alpha(engine_ratings()))


# -- quality report -----------------------------------------------------------------------

SCHEMA = {"fields": [
    {"name": "intent", "type": "choice", "options": ["a", "b", "c"]},
    {"name": "note", "type": "text", "required": False},
]}


def test_quality_report_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    ws = Workspace.init(tmp_path / "ws")
    try:
        p = ws.create_project("qa", SCHEMA, overlap=3)
        p.import_records([{"id": f"i{i}", "text": f"text {i}"} for i in range(12)])
        team = {}
        for name in ("u1", "u2", "u3"):
            team[name] = ws.add_user(name, "password-123", role="annotator")
            p.add_member(team[name], "annotator")
        rng = random.Random(5)
        for _ in range(12):
            for name, u in team.items():
                t = p.next_task(u)
                if t is None:
                    continue
                truth = "abc"[int(t.external_id[1:]) % 3]
                lab = rng.choice("abc") if name == "u3" else truth
                p.submit(t.id, {"intent": lab, "note": "ok"}, u)
    finally:
        ws.close()
    loc = tmp_path / "ws"
    rep = run_json("quality", loc, "--project", "qa", "--resamples", 50)
    assert rep["project"] == "qa" and rep["progress"]["items"] == 12
    intent = rep["fields"]["intent"]
    assert intent["ci_low"] <= intent["alpha"] <= intent["ci_high"]
    assert "no agreement measure" in rep["fields"]["note"]["error"]
    cards = {c["annotator"]: c for c in rep["annotators"]}
    assert cards["u3"]["flagged"] and not cards["u1"]["flagged"]
    r = run("quality", loc, "--resamples", 50)
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    note_row = next(line for line in lines if line.startswith("│ note"))
    assert "N/A" in note_row and "no agreement measure" in note_row
    u3_row = next(line for line in lines if line.startswith("│ u3"))
    assert "FLAGGED" in u3_row
    assert "Hot spots" in r.stdout
    assert "not a truelabel project" in fails("quality", tmp_path / "elsewhere")


# -- real data: D_PosSent (1,000 tweets, 85 workers, 20 answers each) ------------------------

@pytest.fixture(scope="module")
def possent(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """D_PosSent as plain files (tests/data/crowd keeps it gzip-compressed)."""
    return unpack("d_possent", tmp_path_factory.mktemp("crowd"))


def _truth(possent: Path) -> dict[str, str]:
    with (possent / "truth.csv").open(encoding="utf-8") as fh:
        return {row["q"]: row["truth"] for row in csv.DictReader(fh)}


def test_possent_dawid_skene_accuracy(tmp_path: Path, possent: Path) -> None:
    out = tmp_path / "labels.csv"
    r = run("aggregate", possent / "answer.csv", "--method", "dawid_skene", "--out", out)
    assert r.exit_code == 0, r.output
    assert "item=id, annotator=worker, label=answer" in r.stdout
    with out.open(encoding="utf-8") as fh:
        labels = {row["item"]: row["label"] for row in csv.DictReader(fh)}
    truth = _truth(possent)
    scored = [labels[i] == t for i, t in truth.items() if labels.get(i)]
    assert len(scored) == 1000
    assert sum(scored) / len(scored) == pytest.approx(0.96, abs=5e-4)
    # The gold summary (truth.csv: q, truth) agrees with the count made here.
    data = run_json("aggregate", possent / "answer.csv", "--method", "dawid_skene",
                    "--gold", possent / "truth.csv", "--out", out)
    assert data["gold"]["columns"] == {"item": "q", "label": "truth"}
    assert data["gold"]["accuracy"] == pytest.approx(0.96, abs=5e-4)
    majority = run_json("aggregate", possent / "answer.csv", "--method", "majority", "--gold",
                        possent / "truth.csv", "--out", out)
    assert majority["gold"]["accuracy"] == pytest.approx(0.932, abs=5e-4)


def test_possent_agreement(possent: Path) -> None:
    data = run_json("agreement", possent / "answer.csv", "--resamples", 100,
                    "--gold", possent / "truth.csv")
    assert data["value"] == pytest.approx(0.1493, abs=5e-5)
    assert data["ci"]["low"] < data["value"] < data["ci"]["high"]
    assert (data["items"], data["annotators"], data["answers"]) == (1000, 85, 20000)
    assert data["gold"]["answers_correct_share"] == pytest.approx(0.6865, abs=5e-5)
    fleiss = run_json("agreement", possent / "answer.csv", "--metric", "fleiss",
                      "--resamples", 50)
    assert fleiss["value"] == pytest.approx(0.1493, abs=5e-5)


def test_tiny_table_value_without_interval(tmp_path: Path) -> None:
    f = write_csv(tmp_path / "tiny.csv", ["item", "annotator", "label"],
                  [("i1", "a", "x"), ("i1", "b", "x"), ("i2", "a", "y"), ("i2", "b", "y")])
    data = run_json("agreement", f, "--resamples", 200)
    assert data["value"] == 1.0 and data["ci"] is None
    assert "no confidence interval" in data["note"]
    same = write_csv(tmp_path / "same.csv", ["item", "annotator", "label"],
                     [("i1", "a", "x"), ("i1", "b", "x"), ("i2", "a", "x"), ("i2", "b", "x")])
    assert "percent agreement instead" in fails("agreement", same)
    assert run_json("agreement", same, "--metric", "percent")["value"] == 1.0
