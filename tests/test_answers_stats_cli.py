"""Issue 13 through `truelabel agreement/aggregate`: the numbers equal the API's, the label
order of ordered measures can be given and is printed, and empty or degenerate input gives a
clean error (each test failed before the fix)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from test_answers_cli import fails, run, run_json, wide_tables, write_csv
from truelabel import quality as q

__all__ = ["wide_tables"]  # the autouse fixture: one table row per line

RATER_A = ["a", "b", "d", "a", "d", "b", "a", "c", "d", "b", "a", "d"]
RATER_B = ["a", "d", "d", "b", "d", "a", "a", None, "b", "b", "b", "d"]


@pytest.fixture
def two_raters(tmp_path: Path) -> Path:
    """"c" occurs only in an answer whose item the other rater did not label."""
    rows = [(f"u{i}", "ann", x) for i, x in enumerate(RATER_A)]
    rows += [(f"u{i}", "bob", x) for i, x in enumerate(RATER_B) if x is not None]
    return write_csv(tmp_path / "two.csv", ["item", "annotator", "label"], rows)


# -- aggregate with nothing to aggregate ----------------------------------------------------


@pytest.mark.parametrize("method", ["majority", "dawid_skene"])
def test_aggregate_on_only_empty_labels_is_a_clean_error(tmp_path: Path, method: str) -> None:
    """Was a NumPy traceback (majority): 'attempt to get argmax of an empty sequence'."""
    f = write_csv(tmp_path / "e.csv", ["item", "annotator", "label"],
                  [("i1", "a", ""), ("i1", "b", "")])
    msg = fails("aggregate", f, "--method", method)
    assert "got none" in msg and ("label" in msg or "answers" in msg)


def test_weighted_aggregate_on_only_empty_labels_is_a_clean_error(tmp_path: Path) -> None:
    f = write_csv(tmp_path / "e.csv", ["item", "annotator", "label"],
                  [("i1", "a", ""), ("i1", "b", "")])
    gold = write_csv(tmp_path / "g.csv", ["item", "label"], [("i1", "x")])
    assert "gold" in fails("aggregate", f, "--method", "weighted", "--gold", gold)


@pytest.mark.parametrize("method", ["majority", "weighted"])
def test_aggregate_one_item_one_annotator(tmp_path: Path, method: str) -> None:
    f = write_csv(tmp_path / "one.csv", ["item", "annotator", "label"], [("i1", "a", "x")])
    gold = write_csv(tmp_path / "g.csv", ["item", "label"], [("i1", "x")])
    data = run_json("aggregate", f, "--method", method, "--gold", gold)
    assert [r["label"] for r in data["results"]] == ["x"]


# -- weighted Cohen's kappa: one definition ---------------------------------------------------


@pytest.mark.parametrize("weights", ["linear", "quadratic"])
def test_weighted_kappa_cli_equals_api_with_an_unpaired_label(
    two_raters: Path, weights: str
) -> None:
    """Was up to 0.09 apart: the CLI weighed over every label, the API over paired ones."""
    data = run_json("agreement", two_raters, "--metric", "cohen", "--weights", weights,
                    "--resamples", 20)
    api = q.cohen_kappa(RATER_A, RATER_B, weights=weights)  # type: ignore[arg-type]
    assert data["value"] == pytest.approx(api, abs=1e-12)
    assert data["order"] == ["a", "b", "c", "d"] and data["order_given"] is False


def test_weighted_kappa_order_is_given_and_printed(two_raters: Path) -> None:
    """Was refused: --order applied to ordinal alpha only."""
    order = ["d", "c", "b", "a"]
    data = run_json("agreement", two_raters, "--metric", "cohen", "--weights", "linear",
                    "--order", ",".join(order), "--resamples", 20, "--pairs")
    assert data["order"] == order and data["order_given"] is True
    api = q.cohen_kappa(RATER_A, RATER_B, weights="linear", labels=order)
    assert data["value"] == pytest.approx(api, abs=1e-12)
    assert data["pairs"][0]["value"] == pytest.approx(api, abs=1e-12)
    text = run("agreement", two_raters, "--metric", "cohen", "--weights", "linear",
               "--order", ",".join(order), "--resamples", 20).stdout
    assert "order: d < c < b < a (as given)" in text
    text = run("agreement", two_raters, "--metric", "cohen", "--weights", "linear",
               "--resamples", 20).stdout
    assert "order: a < b < c < d (the labels sorted" in text


def test_an_order_that_leaves_out_a_used_label_names_it(two_raters: Path) -> None:
    msg = fails("agreement", two_raters, "--metric", "cohen", "--weights", "linear",
                "--order", "a,b,d")
    assert "leaves out ['c']" in msg
    # Unweighted kappa has no order to give.
    assert "ordered measures" in fails("agreement", two_raters, "--metric", "cohen",
                                       "--order", "a,b,c,d")


def test_interval_alpha_prints_its_numeric_order(tmp_path: Path) -> None:
    rows = [(f"u{i}", w, v) for i, (x, y) in enumerate([(1, 2), (3, 3), (2, 2), (5, 4)])
            for w, v in (("ann", x), ("bob", y))]
    f = write_csv(tmp_path / "n.csv", ["item", "annotator", "label"], rows)
    data = run_json("agreement", f, "--level", "interval", "--resamples", 20)
    assert data["order"] == [1, 2, 3, 4, 5]
    assert "order: 1 < 2 < 3 < 4 < 5 (numeric values)" in run(
        "agreement", f, "--level", "interval", "--resamples", 20).stdout
    assert "numeric values" in fails("agreement", f, "--level", "interval", "--order", "1,2")


def test_ratio_alpha_with_negative_values_says_use_interval(tmp_path: Path) -> None:
    rows = [(f"u{i}", w, v) for i, (x, y) in enumerate([(-1, -1), (3, 3), (2, 1), (5, 4)])
            for w, v in (("ann", x), ("bob", y))]
    f = write_csv(tmp_path / "n.csv", ["item", "annotator", "label"], rows)
    msg = fails("agreement", f, "--level", "ratio")
    assert "true zero" in msg and "interval" in msg and "-1" in msg
    assert run_json("agreement", f, "--level", "interval", "--resamples", 20)["value"] > 0


# -- weighted vote when every annotator of an item weighs 0 ---------------------------------


def test_weighted_aggregate_falls_back_to_the_plain_vote(tmp_path: Path) -> None:
    """Was: items whose annotators all scored 0 on gold were left without a label."""
    rows = [("g1", "good", "x"), ("g1", "bad1", "y"), ("g1", "bad2", "y"),
            ("i1", "bad1", "x"), ("i1", "bad2", "y"), ("i1", "bad3", "y"),
            ("g2", "bad3", "y"),
            ("i2", "good", "x"), ("i2", "bad1", "y")]
    f = write_csv(tmp_path / "a.csv", ["item", "annotator", "label"], rows)
    gold = write_csv(tmp_path / "g.csv", ["item", "label"], [("g1", "x"), ("g2", "x")])
    out = tmp_path / "labels.csv"
    data = run_json("aggregate", f, "--method", "weighted", "--gold", gold)
    by_item = {r["item"]: r for r in data["results"]}
    assert data["items_without_label"] == 0 and data["unweighted_fallback"] == 2
    assert by_item["i1"]["label"] == "y" and by_item["i1"]["unweighted_fallback"] is True
    # the vote share (2/3), calibrated: the calibration never raises a confidence without
    # enough gold to fit a map on
    assert 0 < by_item["i1"]["confidence"] <= 2 / 3 + 1e-9
    assert by_item["i2"]["label"] == "x" and by_item["i2"]["unweighted_fallback"] is False
    assert by_item["g2"]["unweighted_fallback"] is True
    text = run("aggregate", f, "--method", "weighted", "--gold", gold).stdout
    assert "unweighted vote (weights all 0)" in text
    run_json("aggregate", f, "--method", "weighted", "--gold", gold, "--out", out)
    with out.open(newline="", encoding="utf-8") as fh:
        flags = {r["item"]: r["unweighted_fallback"] for r in csv.DictReader(fh)}
    assert flags["i1"] in ("True", "true") and flags["i2"] in ("False", "false")
    # Majority output has no such column.
    assert "unweighted_fallback" not in run_json("aggregate", f)["results"][0]
