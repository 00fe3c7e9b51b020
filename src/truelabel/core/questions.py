"""Per-item questions from annotators to the managers (``project.questions``): an annotator
asks about an item they were given; managers and reviewers (``quality.adjudicate``) list the
open ones, answer and resolve them; the asker sees the answer. Asking and answering are
audit-logged."""

from __future__ import annotations

import time
from typing import Any

from truelabel.domain.errors import InvalidInput, NotFound
from truelabel.domain.models import User
from truelabel.domain.roles import role_allows
from truelabel.store import projects as project_store
from truelabel.store import questions as question_store
from truelabel.store import queue

from .context import Service, actor_id

#: longest question or answer (characters)
MAX_TEXT = 4000
STATUSES = ("open", "resolved")
#: who answers questions
ANSWER_PERMISSION = "quality.adjudicate"


def _text(text: str, what: str) -> str:
    text = (text or "").strip()
    if not text:
        raise InvalidInput(f"The {what} is empty; write it first.", field="text")
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"The {what} is {len(text)} characters; keep it to {MAX_TEXT}.",
                           field="text")
    return text


class QuestionService(Service):
    """Questions about items and their answers."""

    name = "questions"

    def ask(self, item_id: int, text: str, actor: User) -> dict[str, Any]:
        """Ask the managers about item ``item_id`` (an annotator: one they were given)."""
        body = _text(text, "question")
        now = time.time()
        sees_all = role_allows(self.require(actor, "task.work"), "items.read")
        with self.db.write() as conn:
            given = sees_all or queue.has_assignment(conn, user_id=actor.id, item_id=item_id)
            if not given or self._item_data(item_id) is None:
                raise NotFound(f"No item {item_id} of yours in this project; ask about an "
                               "item you were given.")
            qid = question_store.add(conn, project_id=self.id, item_id=item_id,
                                     user_id=actor.id, body=body, now=now)
            project_store.audit(conn, at=now, user_id=actor.id, action="question.ask",
                                object_type="question", object_id=qid,
                                detail={"project_id": self.id, "item": item_id})
            row = question_store.get(conn, project_id=self.id, question_id=qid)
        assert row is not None
        return row

    def mine(self, actor: User, *, item_id: int | None = None) -> list[dict[str, Any]]:
        """The actor's questions here (about one item, if given), newest first."""
        self.require(actor, "task.work")
        with self.db.read() as conn:
            return question_store.of_user(conn, project_id=self.id, user_id=actor.id,
                                          item_id=item_id)

    def listing(self, actor: User | None, *, status: str | None = "open",
                limit: int = 200) -> list[dict[str, Any]]:
        """The project's questions for those who answer them (open ones: oldest first)."""
        self.require(actor, ANSWER_PERMISSION)
        if status is not None and status not in STATUSES:
            raise InvalidInput(f"Unknown status {status!r}; use one of {list(STATUSES)}.",
                               field="status")
        with self.db.read() as conn:
            return question_store.listing(conn, project_id=self.id, status=status,
                                          limit=min(max(limit, 1), 1000))

    def answer(self, question_id: int, text: str, actor: User | None, *,
               resolve: bool = True) -> dict[str, Any]:
        """Answer a question (``resolve``: close it; otherwise it stays open)."""
        self.require(actor, ANSWER_PERMISSION)
        body = _text(text, "answer")
        now = time.time()
        uid = actor_id(actor)
        with self.db.write() as conn:
            if question_store.get(conn, project_id=self.id, question_id=question_id) is None:
                raise NotFound(f"No question {question_id} in this project.")
            question_store.answer(conn, question_id=question_id, user_id=uid, text=body,
                                  status="resolved" if resolve else "open", now=now)
            project_store.audit(conn, at=now, user_id=uid, action="question.answer",
                                object_type="question", object_id=question_id,
                                detail={"project_id": self.id, "resolved": resolve})
            row = question_store.get(conn, project_id=self.id, question_id=question_id)
        assert row is not None
        return row
