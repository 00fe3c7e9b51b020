"""The quality command groups (workflow, gold, review, adjudication, truth, signoff): each does
what its API route does, on either backend, and every CLI command closes its workspace."""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from truelabel import Workspace
from truelabel.cli.main import main
from truelabel.core import Project
from truelabel.domain.models import User

SCHEMA = {"fields": [{"name": "intent", "type": "choice", "options": ["a", "b", "c"]}]}


@pytest.fixture
def qp(ws: Workspace, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Project:
    monkeypatch.setenv("TRUELABEL_BLOB_URL", str(tmp_path / "blobs"))
    p = ws.create_project("qa", SCHEMA, overlap=2)
    p.import_records([{"id": f"i{i}", "text": f"text {i}"} for i in range(6)])
    return p


@pytest.fixture
def team(ws: Workspace, qp: Project) -> dict[str, User]:
    out = {}
    for name, role in [("u1", "annotator"), ("u2", "annotator"), ("rev", "reviewer"),
                       ("lead", "manager")]:
        out[name] = ws.add_user(name, "password-123", role=role)
        qp.add_member(out[name], role)
    return out


def cli(ws: Workspace, *args: Any, ok: bool = True) -> Result:
    """Run ``GROUP COMMAND LOCATION ARGS...`` on the test's workspace."""
    r = CliRunner().invoke(main, [str(a) for a in (*args[:2], ws.location, *args[2:])])
    if ok:
        assert r.exit_code == 0, r.output
    return r


def cli_json(ws: Workspace, *args: Any) -> Any:
    return json.loads(cli(ws, *args, "--json").stdout)


def item_ids(p: Project) -> list[int]:
    return [i["id"] for i in p.items(limit=100)]


def test_workflow_show_and_set(ws: Workspace, qp: Project) -> None:
    shown = cli_json(ws, "workflow", "show")
    assert shown == qp.workflow().model_dump(mode="json")
    data = cli_json(ws, "workflow", "set", "gold_rate=0.25", "adjudication_threshold=0.5",
                    "slice_keys=[\"lang\"]")
    assert (data["gold_rate"], data["adjudication_threshold"], data["slice_keys"]) == \
        (0.25, 0.5, ["lang"])
    assert qp.workflow().gold_rate == 0.25
    assert cli_json(ws, "workflow", "show") == data
    bad = cli(ws, "workflow", "set", "gold_ratio=0.1", ok=False)
    assert bad.exit_code == 1 and "gold_ratio" in bad.output and "gold_rate" in bad.output
    assert qp.workflow().gold_rate == 0.25  # a refused change changes nothing
    assert cli(ws, "workflow", "set", "gold_rate", ok=False).exit_code == 2


def test_gold_add_list_import_remove(ws: Workspace, qp: Project, tmp_path: Path) -> None:
    first, second = item_ids(qp)[:2]
    added = cli_json(ws, "gold", "add", first, '{"intent": "b"}')
    assert added == {"item_id": first, "value": {"intent": "b"}}
    assert qp.gold() == {first: {"intent": "b"}}
    file = tmp_path / "gold.jsonl"
    file.write_text(json.dumps({"id": "i1", "intent": "c"}) + "\n")
    assert cli_json(ws, "gold", "import", file)["imported"] == 1
    listed = cli_json(ws, "gold", "list")
    assert listed == [{"item_id": first, "value": {"intent": "b"}},
                      {"item_id": second, "value": {"intent": "c"}}]
    assert "intent" in cli(ws, "gold", "list").stdout
    bad = cli(ws, "gold", "add", first, '{"intent": "z"}', ok=False)
    assert bad.exit_code == 1 and "z" in bad.output
    assert cli(ws, "gold", "add", first, "{not json", ok=False).exit_code == 2
    cli(ws, "gold", "remove", first)
    assert qp.gold() == {second: {"intent": "c"}}


def test_review_next_and_decide(ws: Workspace, qp: Project, team: dict[str, User]) -> None:
    qp.set_workflow(review_stages=[{"name": "peer", "role": "reviewer", "sample_rate": 1.0}])
    t = qp.next_task(team["u1"])
    assert t is not None
    a = qp.submit(t.id, {"intent": "c"}, team["u1"])
    view = cli_json(ws, "review", "next", "--as", "rev")
    assert view["annotation"]["id"] == a.id and view["item"]["id"] == t.item_id
    refused = cli(ws, "review", "decide", a.id, "reject", "--as", "rev", ok=False)
    assert refused.exit_code == 1 and "comment" in refused.output
    forbidden = cli(ws, "review", "next", "--as", "u2", ok=False)
    assert forbidden.exit_code == 1
    cli(ws, "review", "decide", a.id, "reject", "--as", "rev", "--comment", "it is a refund")
    assert qp.annotations(t.item_id) == []
    assert "Nothing is waiting" in cli(ws, "review", "next", "--as", "rev").output


def test_adjudication_truth_and_signoff(ws: Workspace, qp: Project,
                                        team: dict[str, User]) -> None:
    qp.set_workflow(adjudication_threshold=0.1)
    for name, label in (("u1", "a"), ("u2", "b")):
        t = qp.next_task(team[name])
        assert t is not None
        qp.submit(t.id, {"intent": label}, team[name])
    queue = cli_json(ws, "adjudication", "list")
    assert [r["item_id"] for r in queue] == [t.item_id]
    assert len(queue[0]["annotations"]) == 2
    decided = cli_json(ws, "adjudication", "decide", t.item_id, '{"intent": "b"}',
                       "--as", "lead", "--comment", "policy")
    assert decided == {"item_id": t.item_id, "value": {"intent": "b"}}
    assert cli_json(ws, "adjudication", "list") == []

    summary = cli_json(ws, "truth", "aggregate", "--method", "majority")
    assert summary["method"] == "majority" and "intent" in summary["fields"]
    assert "intent" in cli(ws, "truth", "aggregate").stdout
    shown = cli_json(ws, "truth", "show", "--item", t.item_id)
    assert shown == [{"item_id": t.item_id,
                      "fields": qp.ground_truth(item_id=t.item_id)[t.item_id]}]
    assert shown[0]["fields"]["intent"]["method"] == "adjudication"
    assert "adjudication" in cli(ws, "truth", "show").stdout

    # low agreement: refused until the lead gives a reason, which is recorded
    assert "low_agreement" in cli(ws, "signoff", "check", "--as", "lead").stdout
    refused = cli(ws, "signoff", "create", "--as", "lead", "--comment", "batch 1", ok=False)
    assert refused.exit_code == 1 and "override reason" in refused.output
    made = cli_json(ws, "signoff", "create", "--as", "lead", "--comment", "batch 1",
                    "--override-reason", "agreed with the client")
    assert made["comment"] == "batch 1" and "evidence" in made
    assert made["override_reason"] == "agreed with the client"
    assert cli(ws, "signoff", "create", "--as", "u1", ok=False).exit_code == 1
    listed = cli_json(ws, "signoff", "list")
    assert [(s["id"], s["username"]) for s in listed] == [(made["id"], "lead")]
    assert "batch 1" in cli(ws, "signoff", "list").stdout


# -- parity with the API ---------------------------------------------------------------------
#: Each quality route and the command that does the same; routes left out on purpose say why.
PARITY = {
    ("GET", "/projects/{project}/workflow"): "workflow show",
    ("PATCH", "/projects/{project}/workflow"): "workflow set",
    ("PUT", "/projects/{project}/items/{item_id}/gold"): "gold add",
    ("DELETE", "/projects/{project}/items/{item_id}/gold"): "gold remove",
    ("GET", "/projects/{project}/gold"): "gold list",
    ("POST", "/projects/{project}/gold"): "gold import",
    ("GET", "/projects/{project}/reviews/next"): "review next",
    ("POST", "/projects/{project}/reviews"): "review decide",
    ("GET", "/projects/{project}/adjudications"): "adjudication list",
    ("POST", "/projects/{project}/adjudications/{item_id}"): "adjudication decide",
    ("POST", "/projects/{project}/aggregate"): "truth aggregate",
    ("GET", "/projects/{project}/ground-truth"): "truth show",
    ("GET", "/projects/{project}/quality"): "quality",
    ("POST", "/projects/{project}/signoffs"): "signoff create",
    ("GET", "/projects/{project}/signoffs"): "signoff list",
    ("GET", "/projects/{project}/signoffs/warnings"): "signoff check",
}
NOT_IN_CLI = {("GET", "/projects/{project}/quality/charts/{name}.svg")}  # images for the UI


def _command(path: str) -> Any:
    cmd: Any = main
    for word in path.split():
        cmd = cmd.commands[word]
    return cmd


def test_every_quality_route_has_a_command() -> None:
    from truelabel.server.api.quality import router

    routes = {(m, r.path) for r in router.routes for m in r.methods}  # type: ignore[attr-defined]
    assert routes - NOT_IN_CLI == set(PARITY), "add the command to the CLI and to PARITY"
    for command in PARITY.values():
        assert _command(command).help


# -- every command closes its workspace ------------------------------------------------------
@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Workspace]]:
    """Every Workspace the CLI opens, to check each is closed when its command ends."""
    made: list[Workspace] = []
    real_open, real_close = Workspace.open.__func__, Workspace.close  # type: ignore[attr-defined]

    def track_open(cls: type[Workspace], *a: Any, **kw: Any) -> Workspace:
        w = real_open(cls, *a, **kw)
        w._closed_by_test = False  # type: ignore[attr-defined]
        made.append(w)
        return w

    def track_close(self: Workspace) -> None:
        self._closed_by_test = True  # type: ignore[attr-defined]
        real_close(self)

    monkeypatch.setattr(Workspace, "open", classmethod(track_open))
    monkeypatch.setattr(Workspace, "close", track_close)
    yield made


def _leaks(made: list[Workspace]) -> list[str]:
    return [w.location for w in made if not getattr(w, "_closed_by_test", True)]


def test_the_close_check_catches_a_leak(opened: list[Workspace], tmp_path: Path) -> None:
    Workspace.init(tmp_path / "leaky").close()
    leaky = Workspace.open(tmp_path / "leaky")
    assert _leaks(opened) == [str(tmp_path / "leaky")]
    leaky.close()
    assert _leaks(opened) == []


def test_every_command_closes_its_workspace(
    opened: list[Workspace], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "schema.json").write_text(json.dumps(SCHEMA))
    (tmp_path / "items.jsonl").write_text("".join(
        json.dumps({"id": f"i{i}", "text": f"t{i}"}) + "\n" for i in range(4)))
    (tmp_path / "gold.jsonl").write_text(json.dumps({"id": "i0", "intent": "a"}) + "\n")
    runs = [
        "init w --schema schema.json --name qa --overlap 1",
        "import w items.jsonl", "export w out.jsonl", "status w --json",
        "create-project w second --schema schema.json",
        "user add w lead --role manager -p qa --password-stdin", "user list w",
        "user token w lead", "user tokens w lead", "user revoke-token w lead 1",
        "user passwd w lead --password-stdin", "user disable w lead --enable",
        "add-member w qa lead --role manager",
        "workflow show w -p qa",
        "workflow set w -p qa 'review_stages=[{\"name\": \"r\", \"role\": \"manager\"}]'",
        "gold import w gold.jsonl -p qa",
        "gold list w -p qa", "gold add w 2 '{\"intent\": \"b\"}' -p qa", "gold remove w 2 -p qa",
        "review next w --as lead -p qa", "adjudication list w -p qa",
        "truth aggregate w -p qa", "truth show w -p qa", "signoff create w --as lead -p qa",
        "signoff list w -p qa", "quality w -p qa --resamples 50", "check w",
        "backup w w.tar.gz", "restore w.tar.gz w2",
        "demo demo-ws --no-serve --password pw-123456789",
        "demo demo-ws --no-serve",
    ]
    for line in runs:
        r = CliRunner().invoke(main, shlex.split(line), input="password-123\n")
        assert r.exit_code == 0, (line, r.output)
        assert _leaks(opened) == [], line
    # a command that fails closes its workspace too
    for line in ("gold add w 999 '{\"intent\": \"a\"}' -p qa", "review next w --as nobody"):
        r = CliRunner().invoke(main, shlex.split(line))
        assert r.exit_code == 1 and "Error" in r.output, (line, r.output)
        assert _leaks(opened) == [], line
    assert len(opened) >= len(runs) - 2  # the check saw the workspaces


def test_help_lists_every_command_under_a_section() -> None:
    from truelabel.cli.main import SECTIONS

    placed = [n for names in SECTIONS.values() for n in names]
    assert sorted(placed) == sorted(main.commands), "place the new command in cli.main.SECTIONS"
    text = CliRunner().invoke(main, ["--help"]).output
    assert "Other:" not in text
    for title, names in SECTIONS.items():
        block = text.split(f"{title}:\n", 1)[1].split("\n\n", 1)[0]
        assert [line.split()[0] for line in block.splitlines()] == list(names)


def test_a_new_command_shows_under_other() -> None:
    from truelabel.cli.main import Group

    probe = Group("truelabel", commands=dict(main.commands))

    @probe.command("zz-new")
    def zz_new() -> None:
        """A command nobody placed yet."""

    ctx = click.Context(probe, info_name="truelabel")
    assert "Other:\n  zz-new" in probe.get_help(ctx)
