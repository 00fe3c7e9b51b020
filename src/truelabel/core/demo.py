"""The demo workspace: bundled customer-service messages, a schema with intent, sentiment and
entities, one user per role, and a simulated team's first days of work.

The demo shows what truelabel is for, so it starts where a real project would be after a few
days: three annotators per item, gold items mixed into the queue, a review stage and
adjudication on, and labels from four simulated annotators (``SIMULATED``) — three careful
ones and one careless one who answers at random 40 % of the time. Their work goes through the
real services (claim, submit, review, adjudicate, aggregate), so agreement, scorecards, gold
accuracy, the review and adjudication queues, ground truth and the team charts all show true
figures. Afterwards their work is dated over the past days (``store.team.backdate``) so the
team charts have shape. Part of the items stay unlabelled for the people trying the demo
(``annotator``, ``annotator2``). Everything is seeded: the same demo every time.
"""

from __future__ import annotations

import json
import math
import random
import secrets
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from truelabel.domain.models import User
from truelabel.domain.roles import Role
from truelabel.store import accounts
from truelabel.store import projects as project_store
from truelabel.store import team as team_store

from .project import Project
from .workspace import DB_FILE, Workspace

DEMO_USERS = (
    ("admin", Role.ADMIN),
    ("manager", Role.MANAGER),
    ("reviewer", Role.REVIEWER),
    ("annotator", Role.ANNOTATOR),
    ("annotator2", Role.ANNOTATOR),
)


@dataclass(frozen=True, slots=True)
class Simulated:
    """A simulated annotator: how often they are right when trying, how often they do not
    try (a random answer), how many tasks they do, their typical seconds per item, and the
    days back (0 = today) they worked on."""

    name: str
    accuracy: float
    random_rate: float
    tasks: int
    seconds: float
    days: tuple[int, ...]


SIMULATED = (
    Simulated("alice", 0.96, 0.0, 40, 24.0, (5, 4, 3, 1, 0)),
    Simulated("bruno", 0.93, 0.0, 32, 38.0, (4, 3, 2, 1)),
    Simulated("chen", 0.90, 0.0, 26, 52.0, (3, 2, 0)),
    Simulated("dana", 0.90, 0.40, 34, 9.0, (5, 2, 1, 0)),  # careless: 40 % random answers
)
DEMO_SEED = 12
DEMO_OVERLAP = 3
DEMO_WORKFLOW: dict[str, Any] = {
    "gold_rate": 0.2,
    "review_stages": [{"name": "review", "role": "reviewer", "sample_rate": 0.5}],
    "adjudication_threshold": 0.3,  # any item the three annotators did not agree on
}
#: What a careful annotator gives when they slip: the near-miss of each answer.
NEAR = {
    "refund": "billing", "billing": "refund", "shipping": "product", "product": "other",
    "account": "other", "other": "product",
    "negative": "neutral", "neutral": "negative", "positive": "neutral",
}
GOLD_EVERY = 8  # every 8th message is a gold item
REVIEWS = 14  # the reviewer's first reviews; the rest wait in the queue
ADJUDICATIONS = 3  # the manager decides the first ones; the rest wait


@dataclass
class Demo:
    workspace: Workspace
    project: Project
    passwords: dict[str, str]
    created: bool
    #: What the demo holds and where to look, for the person who started it.
    story: str = ""


def _story() -> str:
    names = [s.name for s in SIMULATED]
    careless = [f"{s.name} answers at random {s.random_rate:.0%} of the time"
                for s in SIMULATED if s.random_rate]
    return (
        f"{', '.join(names[:-1])} and {names[-1]} are a simulated team who labelled for the "
        f"past days ({'; '.join(careless)}), {DEMO_OVERLAP} annotators per item, with gold "
        "items, a review stage and adjudication on. Log in as manager to see Quality, Team, "
        "Review and Adjudicate; as annotator to label the items left."
    )


def sample_text(name: str) -> str:
    return resources.files("truelabel.sample").joinpath(name).read_text("utf-8")


def _answers() -> dict[str, dict[str, Any]]:
    """The true label of every bundled message (``sample/answers.jsonl``), by external id."""
    out = {}
    for line in sample_text("answers.jsonl").splitlines():
        row = json.loads(line)
        out[row.pop("id")] = row
    return out


def create_demo(path: str | Path, *, password: str | None = None) -> Demo:
    """Create (or reopen) the demo workspace at ``path``.

    New users get ``password`` (random if not given); reopening keeps existing passwords.
    """
    folder = Path(path)
    if (folder / DB_FILE).exists():
        ws = Workspace.open(folder)
        return Demo(ws, ws.project("support"), {}, False)
    ws = Workspace.init(folder)
    try:
        project, passwords = build_demo(ws, password=password)
    except BaseException:
        ws.close()
        raise
    return Demo(ws, project, passwords, True, _story())


def build_demo(ws: Workspace, *, password: str | None = None, now: float | None = None
               ) -> tuple[Project, dict[str, str]]:
    """The demo project in ``ws`` (any backend): data, users and the simulated team's work.
    Returns the project and every user's password."""
    project = ws.create_project(
        "support",
        sample_text("schema.yaml"),
        title="Customer-service messages",
        overlap=DEMO_OVERLAP,
        guidelines=sample_text("guidelines.md"),
    )
    sample = resources.files("truelabel.sample").joinpath("messages.jsonl")
    with resources.as_file(sample) as p:
        project.import_file(p)
    # The simulated team shares one password: hashing one (argon2id) is most of the build.
    team_pw = password or secrets.token_urlsafe(9)
    passwords = {name: password or secrets.token_urlsafe(9) for name, _ in DEMO_USERS}
    passwords.update((s.name, team_pw) for s in SIMULATED)
    people = _add_users(
        ws, [*DEMO_USERS, *((s.name, Role.ANNOTATOR) for s in SIMULATED)], passwords
    )
    for user in people.values():
        project.add_member(user, user.role)
    simulate_team(project, people, now=now)
    return project, passwords


def _add_users(ws: Workspace, roles: list[tuple[str, Role]], passwords: dict[str, str]
               ) -> dict[str, User]:
    """Add the demo's users; users with the same password share its hash (hashed once)."""
    people: dict[str, User] = {}
    hashed: dict[str, str] = {}
    for name, role in roles:
        pw = passwords[name]
        if pw not in hashed:
            people[name] = ws.add_user(name, pw, role=role, display_name=name.title())
            with ws.db.read() as conn:
                row = accounts.get_user(conn, user_id=people[name].id)
            assert row is not None
            hashed[pw] = row["password_hash"]
            continue
        with ws.db.write() as conn:
            uid = accounts.add_user(conn, username=name, display_name=name.title(),
                                    password_hash=hashed[pw], role=role.value, now=time.time())
            project_store.audit(conn, at=time.time(), user_id=None, action="user.add",
                                object_type="user", object_id=uid,
                                detail={"username": name, "role": role.value})
        people[name] = ws.get_user(name)
    return people


def simulate_team(project: Project, people: dict[str, User], *, seed: int = DEMO_SEED,
                  now: float | None = None) -> None:
    """Gold, workflow and a few days of the ``SIMULATED`` team's work on the demo project:
    labels, reviews, adjudications and ground truth, through the project's services."""
    rng = random.Random(seed)
    truth = _answers()
    ids = {str(row["external_id"]): row["id"] for row in project.items(limit=500)}
    _, schema = project.schema()
    options = {
        f: [str(o.value) for o in schema.field(f).keyed_options()] for f in ("intent", "sentiment")
    }
    for k, ext in enumerate(sorted(truth)):
        if k % GOLD_EVERY == GOLD_EVERY - 1 and ext in ids:
            gold = {f: v for f, v in truth[ext].items() if f != "entities"}
            project.set_gold(ids[ext], gold, source="demo")
    project.set_workflow(DEMO_WORKFLOW)
    by_id = {v: k for k, v in ids.items()}

    done: dict[str, list[tuple[int, float]]] = {s.name: [] for s in SIMULATED}
    # round-robin, so every annotator meets every other on shared items
    pending = {s.name: s.tasks for s in SIMULATED}
    while any(pending.values()):
        for s in SIMULATED:
            if not pending[s.name]:
                continue
            pending[s.name] -= 1
            task = project.next_task(people[s.name])
            if task is None:
                pending[s.name] = 0
                continue
            value = _answer(truth[by_id[task.item_id]], s, options, rng)
            took = min(s.seconds * math.exp(rng.gauss(0, 0.5)), 600.0)
            ann = project.submit(task.id, value, people[s.name], key=f"demo-{task.id}",
                                 time_spent_ms=round(took * 1000))
            done[s.name].append((ann.id, took))

    _review(project, people["reviewer"], truth, by_id)
    for entry in project.adjudication_queue()[:ADJUDICATIONS]:
        right = {f: v for f, v in truth[by_id[entry["item_id"]]].items()}
        project.adjudicate(entry["item_id"], right, people["manager"],
                           comment="Checked against the guidelines.")
    project.aggregate(method="gold_dawid_skene")
    times = _timeline(done, rng, time.time() if now is None else now)
    with project.db.write() as conn:
        team_store.backdate(conn, project.id, times[0], imported_at=times[1])


def _answer(right: dict[str, Any], s: Simulated, options: dict[str, list[str]],
            rng: random.Random) -> dict[str, Any]:
    """One simulated answer: random with ``random_rate``, else right with ``accuracy`` (a
    near-miss otherwise); entities found with the same care."""
    out: dict[str, Any] = {}
    for field, choices in options.items():
        if rng.random() < s.random_rate:
            out[field] = rng.choice(choices)
        elif rng.random() < s.accuracy:
            out[field] = right[field]
        else:
            out[field] = NEAR[right[field]]
    keep = s.accuracy * (1 - s.random_rate)
    out["entities"] = [span for span in right["entities"] if rng.random() < keep]
    return out


def _review(project: Project, reviewer: User, truth: dict[str, dict[str, Any]],
            by_id: dict[int, str]) -> None:
    """The reviewer's first ``REVIEWS`` reviews: accept what is right, correct a wrong intent
    or sentiment, reject once with a comment (the annotator gets the item back)."""
    rejected = False
    corrected: set[int] = set()  # one correction per item: the reviewer is one more answer
    for _ in range(REVIEWS):
        task = project.next_review(reviewer)
        if task is None:
            return
        ann = task["annotation"]
        right = truth[str(task["item"]["external_id"])]
        value = dict(ann["value"])
        wrong = [f for f in ("intent", "sentiment") if value.get(f) != right[f]]
        if not wrong:
            project.review(ann["id"], "accept", reviewer)
        elif not rejected or task["item"]["id"] in corrected:
            rejected = True
            project.review(ann["id"], "reject", reviewer,
                           comment=f"Read the guidelines on {wrong[0]} and try again.")
        else:
            corrected.add(task["item"]["id"])
            value.update({f: right[f] for f in wrong})
            project.review(ann["id"], "correct", reviewer, value=value,
                           comment=f"Corrected {', '.join(wrong)}.")


def _timeline(done: dict[str, list[tuple[int, float]]], rng: random.Random, now: float
              ) -> tuple[dict[int, tuple[float, float]], float]:
    """When each simulated label was made: each annotator's labels in order, spread over
    their working days, in one sitting a day starting hours before this time of day,
    each label taking the time it was submitted with. Also when the items came in."""
    times: dict[int, tuple[float, float]] = {}
    first = now
    for n, s in enumerate(SIMULATED):
        anns = done[s.name]
        per_day = math.ceil(len(anns) / len(s.days))
        for k, day in enumerate(s.days):
            batch = anns[k * per_day:(k + 1) * per_day]
            # each annotator keeps their own hours: sittings start 2, 4, 6 or 8 hours ago
            t = now - day * 86_400 - (2 + 2 * n) * 3600 + rng.uniform(0, 1800)
            for ann_id, took in batch:
                times[ann_id] = (t, t + took)
                t += took + rng.uniform(2, 20)
                first = min(first, times[ann_id][0])
    return times, first - 86_400
