"""``Project`` as a context with composed services: the event hub, the service registry,
``actor`` on every public method, and the import contracts inside ``core``."""

from __future__ import annotations

import inspect
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from truelabel import Workspace
from truelabel.core import Project
from truelabel.core.assignments import AssignmentService
from truelabel.core.context import Aggregated, ProjectContext, Reviewed, Service, Submitted
from truelabel.core.edits import EditService
from truelabel.core.manage import ManageService
from truelabel.core.qa import QualityService
from truelabel.core.review import ReviewService
from truelabel.core.tasks import TaskService
from truelabel.core.truth import TruthService
from truelabel.domain.errors import NotFound, UnknownComponent
from truelabel.domain.models import User

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = {"fields": [{"name": "intent", "type": "choice", "options": ["a", "b", "c"]}]}
SERVICES = (
    TaskService, AssignmentService, EditService, QualityService, ReviewService, TruthService,
    ManageService,
)
#: public methods that are about the object itself, not about the project's data
STRUCTURAL = {"close", "service", "service_names"}


@pytest.fixture
def sp(ws: Workspace) -> Project:
    p = ws.create_project("services", SCHEMA, overlap=2)
    p.import_records([{"id": f"i{i}", "text": f"text {i}"} for i in range(6)])
    return p


@pytest.fixture
def crew(ws: Workspace, sp: Project) -> dict[str, User]:
    out = {}
    for name, role in [("u1", "annotator"), ("u2", "annotator"), ("rev", "reviewer"),
                       ("stranger", "annotator")]:
        out[name] = ws.add_user(name, "password-123", role=role)
        if name != "stranger":
            sp.add_member(out[name], role)
    return out


# -- events ----------------------------------------------------------------------------------
def test_after_submit_reaches_subscribers_once_per_stored_annotation(
    sp: Project, crew: dict[str, User]
) -> None:
    seen: list[Submitted] = []
    sp.events.subscribe("after_submit", seen.append)
    u1 = crew["u1"]
    t = sp.next_task(u1)
    assert t is not None
    a = sp.submit(t.id, {"intent": "b"}, u1, key="k-1")
    assert [(e.item_id, e.annotation_id, e.user.id, e.value) for e in seen] == [
        (t.item_id, a.id, u1.id, {"intent": "b"})
    ]
    sp.submit(t.id, {"intent": "b"}, u1, key="k-1")  # a replay stores nothing new
    assert len(seen) == 1
    b = sp.annotate(t.item_id + 1, {"intent": "c"}, crew["u2"])
    assert [e.annotation_id for e in seen] == [a.id, b.id]


def test_unsubscribe_and_unknown_event(sp: Project, crew: dict[str, User]) -> None:
    seen: list[Any] = []
    stop = sp.events.subscribe("after_submit", seen.append)
    stop()
    t = sp.next_task(crew["u1"])
    assert t is not None
    sp.submit(t.id, {"intent": "a"}, crew["u1"])
    assert seen == []
    with pytest.raises(UnknownComponent, match="after_aggregate.*after_review.*after_submit"):
        sp.events.subscribe("after_labelling", seen.append)


def test_after_review_and_after_aggregate(sp: Project, crew: dict[str, User]) -> None:
    sp.set_workflow(review_stages=[{"name": "peer", "role": "reviewer", "sample_rate": 1.0}])
    reviews: list[Reviewed] = []
    aggregates: list[Aggregated] = []
    sp.events.subscribe("after_review", reviews.append)
    sp.events.subscribe("after_aggregate", aggregates.append)
    t = sp.next_task(crew["u1"])
    assert t is not None
    a = sp.submit(t.id, {"intent": "a"}, crew["u1"])
    out = sp.review(a.id, "accept", crew["rev"])
    assert [(r.annotation_id, r.item_id, r.decision, r.stage, r.reviewer.id) for r in reviews] \
        == [(a.id, t.item_id, "accept", out["stage"], crew["rev"].id)]
    summary = sp.aggregate(method="majority")
    assert [(g.method, g.summary) for g in aggregates] == [("majority", summary)]


def test_the_quality_service_follows_submits_through_the_event(
    sp: Project, crew: dict[str, User]
) -> None:
    """Adaptive overlap runs because ``quality`` subscribed to ``after_submit``: take its
    handler away and the item's target stays."""
    sp.set_workflow(adaptive=True, adaptive_min_confidence=0.9, adaptive_max=3)
    for user, label in (("u1", "a"), ("u2", "b")):
        t = sp.next_task(crew[user])
        assert t is not None and t.item_id == 1
        sp.submit(t.id, {"intent": label}, crew[user])
    # disagreement on item 1 raised its target to 3: a third annotator gets it
    third = sp.ws.add_user("u3", "password-123", role="annotator")
    sp.add_member(third, "annotator")
    t3 = sp.next_task(third)
    assert t3 is not None and t3.item_id == 1

    sp.events._handlers["after_submit"] = ()  # nobody listens any more
    for user, label in (("u1", "a"), ("u2", "b")):
        t = sp.next_task(crew[user])
        assert t is not None and t.item_id == 2
        sp.submit(t.id, {"intent": label}, crew[user])
    t4 = sp.next_task(third)
    assert t4 is not None and t4.item_id != 2


# -- services ------------------------------------------------------------------------------
def test_services_are_composed_and_named(sp: Project) -> None:
    assert isinstance(sp, ProjectContext)
    names = ("tasks", "assignments", "edits", "quality", "review", "truth", "manage")
    for name, cls in zip(names, SERVICES, strict=True):
        service = sp.service(name)
        assert service is getattr(sp, name) and isinstance(service, cls)
        assert cls.name == name and service.ctx is sp and service.events is sp.events
    assert sp.tasks.quality is sp.quality and sp.tasks.review is sp.review
    assert sp.edits.tasks is sp.tasks
    for name in ("versions", "prep", "models", "nope"):
        known = r"known: \['tasks', 'assignments', 'edits', 'quality'"
        with pytest.raises(UnknownComponent, match=known):
            sp.service(name)
    assert {"versions", "prep", "models"} <= set(sp.service_names())


def test_flat_methods_are_the_services_methods(sp: Project) -> None:
    assert sp.submit == sp.tasks.submit and sp.submit.__self__ is sp.tasks
    assert sp.set_gold.__self__ is sp.quality and sp.aggregate.__self__ is sp.truth
    assert sp.next_review.__self__ is sp.review
    assert sp.assign.__self__ is sp.assignments and sp.annotate.__self__ is sp.edits
    assert Project.submit.__doc__ == TaskService.submit.__doc__


# -- actor on every public method ----------------------------------------------------------
def _public(cls: type) -> dict[str, Callable[..., Any]]:
    out = {}
    for name, attr in inspect.getmembers(cls):
        if name.startswith("_") or name in STRUCTURAL or isinstance(attr, property):
            continue
        fn = getattr(attr, "__wrapped__", attr)
        if callable(fn) and not inspect.isclass(fn):
            out[name] = fn
    return out


def test_every_public_method_takes_actor() -> None:
    walked = {f"{cls.__name__}.{n}": fn for cls in (Project, *SERVICES, Service)
              for n, fn in _public(cls).items()}
    assert "Project.submit" in walked and "TruthService.sign_off" in walked
    missing = [n for n, fn in walked.items() if "actor" not in inspect.signature(fn).parameters]
    assert missing == []


def test_a_non_member_gets_not_found(sp: Project, crew: dict[str, User], tmp_path: Path) -> None:
    u1, x = crew["u1"], crew["stranger"]
    t = sp.next_task(u1)
    assert t is not None
    a = sp.submit(t.id, {"intent": "a"}, u1)
    calls: dict[str, Callable[[], Any]] = {
        "next_task": lambda: sp.next_task(x),
        "task": lambda: sp.task(t.id, x),
        "skip": lambda: sp.skip(t.id, x),
        "save_draft": lambda: sp.save_draft(t.id, {"intent": "a"}, x),
        "submit": lambda: sp.submit(t.id, {"intent": "a"}, x),
        "annotate": lambda: sp.annotate(t.item_id, {"intent": "a"}, x),
        "update_annotation": lambda: sp.update_annotation(a.id, {"intent": "b"}, x),
        "info": lambda: sp.info(x),
        "status": lambda: sp.status(actor=x),
        "items": lambda: sp.items(actor=x),
        "item": lambda: sp.item(t.item_id, actor=x),
        "annotations": lambda: sp.annotations(t.item_id, actor=x),
        "schema": lambda: sp.schema(actor=x),
        "workflow": lambda: sp.workflow(actor=x),
        "validate": lambda: sp.validate({"intent": "a"}, actor=x),
        "set_workflow": lambda: sp.set_workflow(actor=x, gold_rate=0.1),
        "gold": lambda: sp.gold(actor=x),
        "next_review": lambda: sp.next_review(x),
        "review": lambda: sp.review(a.id, "accept", x),
        "adjudicate": lambda: sp.adjudicate(t.item_id, {"intent": "a"}, x),
        "aggregate": lambda: sp.aggregate(actor=x),
        "ground_truth": lambda: sp.ground_truth(actor=x),
        "sign_off": lambda: sp.sign_off(x),
        "quality_report": lambda: sp.quality_report(actor=x),
        "export": lambda: sp.export(tmp_path / "out.jsonl", actor=x),
        "put_media": lambda: sp.put_media(b"GIF89a", actor=x),
        "tasks.next_task (service)": lambda: sp.tasks.next_task(x),
        "truth.signoffs (service)": lambda: sp.truth.signoffs(actor=x),
    }
    for name, call in calls.items():
        with pytest.raises(NotFound):
            call()
            pytest.fail(f"{name} answered a non-member")
    assert not (tmp_path / "out.jsonl").exists()


# -- import contracts inside core --------------------------------------------------------------
def test_core_contracts_can_fail() -> None:
    """A cycle inside core, and an adapter reaching past the facade, break their contracts."""
    core = ROOT / "src" / "truelabel" / "core"
    probes = {
        core / "_probe_a.py": "from . import _probe_b  # noqa: F401\n",
        core / "_probe_b.py": "from . import _probe_a  # noqa: F401\n",
        ROOT / "src" / "truelabel" / "server" / "_probe.py":
            "import truelabel.core.report  # noqa: F401\n",
    }
    for path, text in probes.items():
        path.write_text(text)
    try:
        exe = Path(sys.executable).with_name("lint-imports")
        r = subprocess.run([str(exe), str(ROOT / "pyproject.toml"), "--no-cache"],
                           cwd=ROOT, capture_output=True, text=True)
    finally:
        for path in probes:
            path.unlink()
    assert "No import cycle in core (type-only imports count) BROKEN" in r.stdout, r.stdout
    assert "not its modules BROKEN" in r.stdout, r.stdout
