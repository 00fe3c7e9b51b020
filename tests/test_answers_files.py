"""Answers files at any size and shape (issue 13): the Arrow reader, quotes that run away,
whitespace-separated text, labels kept as the file wrote them, multi-choice answers as sets.

Each defect is checked on the CLI and on the Python API.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crowd_data import unpack
from truelabel.cli.main import main
from truelabel.core.answers import aggregate_from_file, agreement_from_file
from truelabel.domain.errors import ImportFailed
from truelabel.formats.answers import coerce_labels, label_order, read_answers, read_gold


def run(*args: Any) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode())
    return path


# -- a quote that is never closed ------------------------------------------------------------

UNCLOSED = 'item,annotator,label\ni1,a,"x\ni1,b,y\ni2,a,x\n'
CLOSED_LATE = 'item,annotator,label\ni1,a,"x\ni1,b,"y"\ni2,a,x\ni2,b,x\n'


@pytest.mark.parametrize("command", ["agreement", "aggregate"])
def test_an_unclosed_quote_is_an_error_naming_its_line_on_the_cli(tmp_path: Path,
                                                                   command: str) -> None:
    f = write(tmp_path / "a.csv", UNCLOSED)
    r = run(command, f)
    assert r.exit_code != 0
    assert "line 2" in r.output and "never closed" in r.output


@pytest.mark.parametrize("fn", [agreement_from_file, aggregate_from_file])
def test_an_unclosed_quote_is_an_error_naming_its_line_in_the_api(tmp_path: Path,
                                                                   fn: Any) -> None:
    f = write(tmp_path / "a.csv", UNCLOSED)
    with pytest.raises(ImportFailed, match=r"line 2: a quote opens on this line") as exc:
        fn(f)
    assert exc.value.detail["line"] == 2


def test_a_quote_closed_rows_later_is_an_error_naming_where_it_opened(tmp_path: Path) -> None:
    f = write(tmp_path / "a.csv", CLOSED_LATE)
    with pytest.raises(ImportFailed, match=r"line 2: a quoted value runs from line 2 to line 3"):
        aggregate_from_file(f)
    assert "line 2" in run("agreement", f).output


def test_a_value_over_two_lines_is_still_read(tmp_path: Path) -> None:
    f = write(tmp_path / "a.csv", 'item,annotator,label\ni1,a,"x\ny"\ni1,b,x\ni2,a,x\n')
    t = read_answers(f)
    assert t.labels == ["x\ny", "x", "x"] and t.items == ["i1", "i1", "i2"]


def test_a_missing_id_names_its_line_after_a_value_over_two_lines(tmp_path: Path) -> None:
    f = write(tmp_path / "a.csv", 'item,annotator,label\ni1,a,"x\ny"\n,b,x\n')
    with pytest.raises(ImportFailed, match=r"line 4: no item id"):
        read_answers(f)


def test_a_missing_id_names_its_line_on_the_fast_path(tmp_path: Path) -> None:
    f = write(tmp_path / "a.csv", "item,annotator,label\ni1,a,x\ni2, ,x\n")
    with pytest.raises(ImportFailed, match=r"line 3: no annotator id"):
        read_answers(f)


# -- whitespace-separated text -----------------------------------------------------------------


def test_txt_answers_without_header_are_item_worker_label(tmp_path: Path) -> None:
    f = write(tmp_path / "crowd.txt", "1 1 2\n1\t2   2\n  2 1 1\n2 2 1 \n\n")
    g = write(tmp_path / "truth.txt", "1 2\n2 1\n")
    t = read_answers(f)
    assert (t.items, t.annotators, t.labels) == (["1", "1", "2", "2"], ["1", "2", "1", "2"],
                                                 ["2", "2", "1", "1"])
    assert read_gold(g).labels == {"1": "2", "2": "1"}
    out = aggregate_from_file(f, gold=g)
    assert out["gold"]["accuracy"] == 1.0 and out["answers"] == 4
    data = json.loads(run("aggregate", f, "--gold", g, "--json").output)
    assert data["gold"]["correct"] == 2


@pytest.mark.parametrize("suffix", [".tsv", ".tab", ".txt"])
def test_tab_files_with_a_header_and_spaces_in_labels(tmp_path: Path, suffix: str) -> None:
    f = write(tmp_path / f"a{suffix}",
              "question\tworker\tanswer\nq1\tw1\tnot relevant\nq1\tw2\trelevant\n")
    t = read_answers(f)
    assert t.columns == {"item": "question", "annotator": "worker", "label": "answer"}
    assert t.labels == ["not relevant", "relevant"]
    assert agreement_from_file(f, metric="percent")["answers"] == 2


def test_a_header_of_unknown_names_is_not_read_as_an_answer(tmp_path: Path) -> None:
    f = write(tmp_path / "a.tsv", "qid\twid\tans\nq1\tw1\tyes\nq1\tw2\tno\n")
    with pytest.raises(ImportFailed, match=r"no item column.*'qid'"):
        read_answers(f)
    t = read_answers(f, item_col="qid", annotator_col="wid", label_col="ans")
    assert t.items == ["q1", "q1"] and t.labels == ["yes", "no"]


def test_a_headerless_line_of_the_wrong_width_is_refused(tmp_path: Path) -> None:
    f = write(tmp_path / "a.txt", "1 2 3 4\n5 6 7 4\n")
    with pytest.raises(ImportFailed, match=r"line 1: the first line is not a header and has 4"):
        read_answers(f)
    assert run("agreement", f).exit_code != 0


def test_the_classic_rte_crowd_reads_as_it_is(tmp_path: Path) -> None:
    folder = unpack("rte", tmp_path)
    crowd, truth = folder / "rte_crowd.txt", folder / "rte_truth.txt"
    out = aggregate_from_file(crowd, gold=truth)
    assert (out["items"], out["answers"], out["annotators_count"]) == (800, 8000, 164)
    assert out["gold"]["items_scored"] == 800 and out["labels"] == [1, 2]


def test_gzip_text_is_read(tmp_path: Path) -> None:
    import gzip

    f = tmp_path / "a.txt.gz"
    f.write_bytes(gzip.compress(b"1 1 a\n1 2 a\n"))
    assert read_answers(f).labels == ["a", "a"]


# -- labels as the file wrote them ------------------------------------------------------------


def test_zero_padded_labels_stay_distinct(tmp_path: Path) -> None:
    f = write(tmp_path / "a.csv", "item,annotator,label\ni1,a,01\ni1,b,1\ni2,a,2\ni2,b,2\n")
    out = agreement_from_file(f, metric="percent")
    assert out["labels"] == ["01", "1", "2"]  # numbers' order, the file's text
    assert out["value"] == pytest.approx(0.5)  # i1 disagrees: "01" is not "1"
    agg = json.loads(run("aggregate", f, "--json").output)
    assert agg["labels"] == ["01", "1", "2"]


def test_numeric_text_orders_ordinal_measures_by_value(tmp_path: Path) -> None:
    f = write(tmp_path / "a.csv",
              "item,annotator,label\ni1,a,02\ni1,b,10\ni2,a,2\ni2,b,2\ni3,a,10\ni3,b,10\n")
    out = agreement_from_file(f, level="ordinal")
    assert out["order"] == ["02", "2", "10"]


def test_coerce_labels_never_merges_two_texts() -> None:
    assert coerce_labels(["1", "2", None]) == [[1, 2, None]]
    assert coerce_labels(["01", "1"]) == [["01", "1"]]
    assert coerce_labels(["2", "2.0"]) == [["2", "2.0"]]
    assert coerce_labels(["2", "2.5"]) == [[2.0, 2.5]]
    assert coerce_labels(["+1", "1"]) == [["+1", "1"]]
    assert label_order(["10", "9", "09"]) == ["09", "9", "10"]


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_out_writes_labels_as_read(tmp_path: Path, suffix: str) -> None:
    f = write(tmp_path / "a.csv",
              "item,annotator,label\ni1,a,2\ni1,b,2\ni2,a,2.5\ni2,b,2.5\ni3,a,\n")
    out = tmp_path / f"labels{suffix}"
    r = run("aggregate", f, "--out", out)
    assert r.exit_code == 0, r.output
    if suffix == ".csv":
        rows = list(csv.DictReader(io.StringIO(out.read_text())))
    elif suffix == ".jsonl":
        rows = [json.loads(line) for line in out.read_text().splitlines()]
    else:
        rows = pq.read_table(out).to_pylist()
    got = {r["item"]: r["label"] for r in rows}
    assert got["i1"] == "2" and got["i2"] == "2.5" and got["i3"] in (None, "")
    api = aggregate_from_file(f)
    assert [r["label"] for r in api["results"]] == ["2", "2.5", None]
    assert api["labels"] == ["2", "2.5"]


def test_integer_labels_stay_integers(tmp_path: Path) -> None:
    f = write(tmp_path / "a.csv", "item,annotator,label\ni1,a,2\ni1,b,2\ni2,a,10\n")
    out = tmp_path / "o.csv"
    assert aggregate_from_file(f, out=out)["labels"] == [2, 10]
    assert [r["label"] for r in csv.DictReader(io.StringIO(out.read_text()))] == ["2", "10"]


# -- multi-choice answers are sets ----------------------------------------------------------


def test_multi_choice_lists_are_order_insensitive(tmp_path: Path) -> None:
    f = tmp_path / "a.jsonl"
    rows = [{"item": "i1", "annotator": "a", "label": ["x", "y"]},
            {"item": "i1", "annotator": "b", "label": ["y", "x", "x"]},
            {"item": "i2", "annotator": "a", "label": ["z"]},
            {"item": "i2", "annotator": "b", "label": ["z"]}]
    f.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = agreement_from_file(f, metric="percent")
    assert out["labels"] == ["x|y", "z"] and out["value"] == 1.0
    agg = json.loads(run("aggregate", f, "--json").output)
    assert [r["label"] for r in agg["results"]] == ["x|y", "z"]


def test_multi_choice_rows_of_a_project_export_are_one_set(tmp_path: Path) -> None:
    """The answers export gives a multi-choice answer one row per choice (same
    annotation_id); the order of the rows must not matter."""
    head = "item,item_id,field,annotator,label,annotation_id\n"
    body = ("i1,1,tags,u0,x,10\ni1,1,tags,u0,y,10\ni1,1,tags,u1,y,11\ni1,1,tags,u1,x,11\n"
            "i1,1,intent,u0,a,10\ni2,2,tags,u0,z,12\ni2,2,tags,u1,z,13\n")
    f = write(tmp_path / "answers.csv", head + body)
    out = agreement_from_file(f, field="tags", metric="percent")
    assert out["labels"] == ["x|y", "z"] and out["value"] == 1.0
    assert out["answers"] == 4 and out["duplicates"]["found"] == 0
    data = json.loads(run("agreement", f, "--field", "tags", "--metric", "percent",
                          "--json").output)
    assert data["value"] == 1.0
    assert aggregate_from_file(f, field="intent")["answers"] == 1


# -- formats ----------------------------------------------------------------------------------


def test_parquet_with_numbers_and_a_field_column(tmp_path: Path) -> None:
    f = tmp_path / "a.parquet"
    pq.write_table(pa.table({"q": [1, 1, 2, 2], "worker": ["a", "b", "a", "b"],
                             "answer": [3.0, 3.0, None, 4.0], "field": ["f"] * 4}), f)
    t = read_answers(f)
    assert t.items == ["1", "1", "2", "2"] and t.labels == ["3", "3", None, "4"]
    assert t.n_missing == 1


def test_jsonl_with_mixed_types_is_read_record_by_record(tmp_path: Path) -> None:
    f = write(tmp_path / "a.jsonl", '{"item": 1, "annotator": "a", "label": "x"}\n'
                                    '{"item": "i2", "annotator": "a", "label": 2}\n')
    t = read_answers(f)
    assert t.items == ["1", "i2"] and t.labels == ["x", "2"]


def test_blank_lines_keep_line_numbers(tmp_path: Path) -> None:
    f = write(tmp_path / "a.csv", "item,annotator,label\ni1,a,x\n\n,b,y\n")
    with pytest.raises(ImportFailed, match=r"line 4: no item id"):
        read_answers(f)


# -- the Arrow reader agrees with the csv module ---------------------------------------------

CELL = st.one_of(
    st.text(alphabet=st.sampled_from(list('ab ,"\'é猫犬01-.;\t\n')), max_size=6),
    st.sampled_from(["007", "7", "1.50", "1.5", "-0", ""]),
)


def _reference(text: str) -> list[tuple[str, str, str | None]]:
    rows = list(csv.reader(io.StringIO(text, newline="")))[1:]
    out = []
    for item, ann, label in (r for r in rows if r):
        lab = label.strip()
        out.append((item.strip(), ann.strip(), lab or None))
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(CELL, CELL, CELL), min_size=1, max_size=8))
def test_arrow_reader_matches_the_csv_module(tmp_path: Path,
                                             rows: list[tuple[str, str, str]]) -> None:
    rows = [(i if i.strip() else "x", a if a.strip() else "y", lab) for i, a, lab in rows]
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["item", "annotator", "label"])
    w.writerows(rows)
    f = tmp_path / "p.csv"
    f.write_bytes(buf.getvalue().encode())
    t = read_answers(f)
    assert list(zip(t.items, t.annotators, t.labels, strict=True)) == _reference(buf.getvalue())


# -- the bootstrap of alpha resamples count profiles ------------------------------------------


@pytest.mark.parametrize("n_classes", [3, 20])  # 20 classes: rows too wide for one number
def test_alpha_bootstrap_by_profiles_equals_the_generic_bootstrap(n_classes: int) -> None:
    import numpy as np

    from truelabel import quality as q

    rng = np.random.default_rng(n_classes)
    n = 300
    items = [f"i{k}" for k in rng.integers(0, 60, n)]
    anns = [f"a{k}" for k in rng.integers(0, 12, n)]
    labels = [f"c{k}" for k in rng.integers(0, n_classes, n)]
    r = q.encode_ratings(items, anns, labels)
    assert r.duplicate_count() > 0
    r = r.drop_duplicates(keep="first")
    assert r.duplicate_count() == 0
    generic = q.bootstrap_ci(r, q.krippendorff_alpha, n_resamples=60, seed=5)
    fast = q.krippendorff_alpha_ci(r, n_resamples=60, seed=5)
    np.testing.assert_allclose(fast.distribution, generic.distribution)


def test_encode_coded_equals_encode_ratings() -> None:
    import numpy as np

    from truelabel import quality as q

    a = q.encode_ratings(["x", "x", "y", "z"], ["p", "q", "p", "q"], ["b", None, "a", "b"])
    b = q.encode_coded(np.array([0, 0, 1, 2]), ["x", "y", "z"], np.array([0, 1, 0, 1]),
                       ["p", "q"], np.array([0, -1, 1, 0]), ["b", "a"])
    assert b.classes == a.classes == ("a", "b")
    for name in ("unit", "annotator", "label"):
        assert getattr(a, name).tolist() == getattr(b, name).tolist()
    assert b.units.tolist() == a.units.tolist() and b.annotators.tolist() == a.annotators.tolist()
