"""Per-item questions from annotators to the managers (issue 12)."""

from __future__ import annotations

from typing import Any

import pytest

from truelabel import Workspace
from truelabel.core import Project
from truelabel.domain.errors import Forbidden, InvalidInput, NotFound
from truelabel.domain.models import User


def test_ask_answer_resolve_and_the_asker_sees_it(
    ws: Workspace, project: Project, users: dict[str, User]
) -> None:
    a, m = users["ann1"], users["manager"]
    t = project.next_task(a)
    assert t is not None
    q = project.questions.ask(t.item_id, "  Is a late parcel a refund?  ", a)
    assert (q["body"], q["status"], q["asked_by"]) == ("Is a late parcel a refund?", "open", "ann1")
    assert [x["id"] for x in project.questions.listing(m)] == [q["id"]]
    done = project.questions.answer(q["id"], "Only if they ask for money back.", m)
    assert done["status"] == "resolved" and done["answered_by"] == "manager"
    assert project.questions.listing(m) == []
    assert [x["id"] for x in project.questions.listing(m, status="resolved")] == [q["id"]]
    mine = project.questions.mine(a, item_id=t.item_id)
    assert mine[0]["answer"] == "Only if they ask for money back."
    actions = [e["action"] for e in ws.audit_log() if e["action"].startswith("question.")]
    assert actions == ["question.ask", "question.answer"]


def test_questions_are_checked(project: Project, users: dict[str, User]) -> None:
    a = users["ann1"]
    t = project.next_task(a)
    assert t is not None
    with pytest.raises(InvalidInput, match="empty"):
        project.questions.ask(t.item_id, "   ", a)
    with pytest.raises(NotFound):  # an item ann1 was never given
        project.questions.ask(t.item_id + 1, "why?", a)
    with pytest.raises(Forbidden):
        project.questions.listing(a)
    q = project.questions.ask(t.item_id, "why?", a)
    with pytest.raises(Forbidden):
        project.questions.answer(q["id"], "because", users["ann2"])
    assert project.questions.mine(users["ann2"]) == []
    with pytest.raises(InvalidInput, match="status"):
        project.questions.listing(users["manager"], status="maybe")


def test_questions_over_http(client_for: Any, project: Project) -> None:
    ann, man = client_for("ann1"), client_for("manager")
    base = f"/api/projects/{project.name}"
    t = ann.post(f"{base}/tasks/next").json()
    r = ann.post(f"{base}/items/{t['item_id']}/questions", json={"text": "Which intent?"})
    assert r.status_code == 201
    qid = r.json()["id"]
    assert ann.get(f"{base}/questions").status_code == 403
    listed = man.get(f"{base}/questions").json()
    assert [q["id"] for q in listed] == [qid]
    r = man.post(f"{base}/questions/{qid}/answer", json={"text": "Refund.", "resolve": False})
    assert r.status_code == 200 and r.json()["status"] == "open"
    mine = ann.get(f"{base}/me/questions", params={"item_id": t["item_id"]}).json()
    assert mine[0]["answer"] == "Refund."
