"""Truth-inference methods by registered name everywhere: ``truelabel aggregate``,
``aggregate_from_file``, ``truelabel truth aggregate``, ``Project.aggregate`` and its HTTP route;
``auto`` is the default; ``--max-iter``/``--tol`` reach the fit and come back in the report."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner, Result
from fastapi.testclient import TestClient

from truelabel import Workspace
from truelabel import quality as q
from truelabel.cli.main import main
from truelabel.core import Project
from truelabel.core.answers import aggregate_from_file
from truelabel.domain.errors import InvalidInput
from truelabel.domain.plugins import registry
from truelabel.quality.methods import TruthMethod
from truelabel.server.app import create_app

SCHEMA = {"fields": [{"name": "intent", "type": "choice",
                      "options": ["refund", "account", "shipping"]}]}
LABELS = ("refund", "account", "shipping")


def run(*args: Any) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def crowd_file(tmp_path: Path) -> Path:
    """Five annotators on 60 items: two careful, three noisy."""
    rng = np.random.default_rng(1)
    lines = ["item,annotator,label"]
    for i in range(60):
        truth = rng.integers(0, 3)
        for a, acc in enumerate((0.95, 0.9, 0.5, 0.45, 0.4)):
            lab = truth if rng.random() < acc else rng.integers(0, 3)
            lines.append(f"i{i},a{a},{LABELS[lab]}")
    path = tmp_path / "answers.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _first_answer(ratings: q.Ratings, **_: Any) -> q.AggregationResult:
    """A plug-in method: every item takes its first answer."""
    mv = q.majority_vote(ratings)
    post = np.zeros_like(mv.posterior)
    first = np.unique(ratings.unit, return_index=True)[1]
    post[ratings.unit[first], ratings.label[first]] = 1.0
    return q.AggregationResult(**{**mv.__dict__, "method": "first_answer", "posterior": post,
                                  "codes": post.argmax(axis=1), "confidence": post.max(axis=1)})


@pytest.fixture
def plugin_method() -> Iterator[str]:
    registry.truth_methods.register("acme.first.v1", TruthMethod("first", _first_answer),
                                    aliases=("first",), origin="acme")
    yield "first"
    registry.truth_methods.forget(origin="acme")


# -- answers files --------------------------------------------------------------------------
def test_aggregate_defaults_to_auto_and_says_what_it_chose(crowd_file: Path) -> None:
    r = run("aggregate", crowd_file)
    assert r.exit_code == 0, r.output
    text = " ".join(r.stdout.split())
    assert "auto chose" in text and "held-out answer log-likelihood" in text
    data = json.loads(run("aggregate", crowd_file, "--json").stdout)
    assert data["method"] == "auto" and data["engine"].startswith("auto:")
    rec = data["auto"]
    assert rec["chosen"] in rec["scores"] and rec["seed"] == 0
    assert data == aggregate_from_file(crowd_file)


def test_max_iter_and_tol_reach_the_fit_and_the_report(crowd_file: Path) -> None:
    data = json.loads(run("aggregate", crowd_file, "--method", "dawid_skene", "--max-iter", 3,
                          "--tol", 0, "--json").stdout)
    assert data["iterations"] == 3 and data["converged"] is False
    assert len(data["objective_trace"]) == 3 and data["objective"] == data["objective_trace"][-1]
    assert data["objective_trace"] == sorted(data["objective_trace"])
    assert data["objective_name"] == "log-likelihood per answer"
    text = " ".join(run("aggregate", crowd_file, "--method", "dawid_skene", "--max-iter", 3,
                        "--tol", 0).stdout.split())
    assert "iterations │ 3 (not converged" in text and "final objective" in text
    full = aggregate_from_file(crowd_file, method="dawid_skene", tol=1e-9, max_iter=1000)
    assert full["converged"] and full["iterations"] > 3


@pytest.mark.parametrize(("flag", "value"), [("--max-iter", 0), ("--tol", -0.1),
                                             ("--max-iter", "x")])
def test_bad_iteration_options_are_usage_errors(crowd_file: Path, flag: str, value: Any) -> None:
    r = run("aggregate", crowd_file, "--method", "dawid_skene", flag, value)
    assert r.exit_code == 2 and flag in r.output


def test_bad_iteration_options_in_the_api(crowd_file: Path) -> None:
    with pytest.raises(InvalidInput, match="max_iter must be a whole number"):
        aggregate_from_file(crowd_file, method="dawid_skene", max_iter=0)
    with pytest.raises(InvalidInput, match="tol=0 runs until"):
        aggregate_from_file(crowd_file, method="dawid_skene", tol=-1.0)


@pytest.mark.parametrize("method", ["one_coin", "bayesian_dawid_skene"])
def test_new_methods_run_from_the_cli(crowd_file: Path, method: str) -> None:
    data = json.loads(run("aggregate", crowd_file, "--method", method, "--json").stdout)
    assert data["items_labelled"] == 60 and data["converged"]


def test_a_plugin_method_works_in_cli_and_api(crowd_file: Path, plugin_method: str) -> None:
    data = json.loads(run("aggregate", crowd_file, "--method", plugin_method, "--json").stdout)
    assert data["engine"] == "first_answer" and data["items_labelled"] == 60
    assert "first" in run("aggregate", "--help").stdout
    assert aggregate_from_file(crowd_file, method="acme.first.v1")["engine"] == "first_answer"


# -- projects ---------------------------------------------------------------------------------
@pytest.fixture
def labelled(ws: Workspace) -> tuple[Project, Any]:
    p = ws.create_project("opts", SCHEMA, overlap=3)
    p.import_records([{"id": f"x{i}", "text": f"text {i}"} for i in range(12)])
    lead = ws.add_user("lead", "password-123", role="manager")
    p.add_member(lead, "manager")
    rng = np.random.default_rng(5)
    for n in range(3):
        u = ws.add_user(f"u{n}", "password-123", role="annotator")
        p.add_member(u, "annotator")
        while (t := p.next_task(u)) is not None:
            p.submit(t.id, {"intent": LABELS[int(rng.integers(0, 3)) if n == 2 else
                                             int(t.external_id[1:]) % 3]}, u)
    return p, lead


def test_project_aggregate_defaults_to_auto_and_takes_iteration_options(
    labelled: tuple[Project, Any], plugin_method: str
) -> None:
    p, lead = labelled
    summary = p.aggregate(actor=lead)
    info = summary["fields"]["intent"]
    assert summary["method"] == "auto" and info["auto"]["chosen"] in info["auto"]["scores"]
    info = p.aggregate(method="dawid_skene", max_iter=2, tol=0.0, actor=lead)["fields"]["intent"]
    assert info["iterations"] == 2 and info["converged"] is False
    with pytest.raises(InvalidInput, match="max_iter"):
        p.aggregate(method="dawid_skene", max_iter=0, actor=lead)
    with pytest.raises(InvalidInput, match="known: auto"):
        p.aggregate(method="nope", actor=lead)
    info = p.aggregate(method=plugin_method, actor=lead)["fields"]["intent"]
    assert info["engine"] == "first_answer" and info["items"] == 12


def test_truth_aggregate_cli_takes_iteration_options(
    ws: Workspace, labelled: tuple[Project, Any]
) -> None:
    r = CliRunner().invoke(main, ["truth", "aggregate", str(ws.location), "-p", "opts",
                                  "--method", "dawid_skene", "--max-iter", "2", "--tol", "0",
                                  "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["fields"]["intent"]["iterations"] == 2


def test_http_aggregate_takes_iteration_options(
    ws: Workspace, labelled: tuple[Project, Any]
) -> None:
    _, lead = labelled
    c = TestClient(create_app(ws), headers={"Authorization": f"Bearer {ws.create_token(lead)}"})
    url = "/api/projects/opts/aggregate"
    assert c.post(url, json={"method": "dawid_skene", "max_iter": 0}).status_code == 422
    assert c.post(url, json={"method": "dawid_skene", "tol": -1}).status_code == 422
    assert c.post(url, json={"method": "nope"}).status_code == 422
    body = c.post(url, json={"method": "dawid_skene", "max_iter": 2, "tol": 0}).json()
    assert body["fields"]["intent"]["iterations"] == 2
    assert c.post(url, json={}).json()["method"] == "auto"
