"""Annotators' questions to the managers about an item (the only SQL for them)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from . import fast

_COLS = (
    "q.id, q.item_id, q.user_id, q.body, q.created_at, q.status, q.answer, q.answered_at, "
    "i.external_id, asker.username AS asked_by, ans.username AS answered_by"
)
_FROM = (
    "FROM questions q JOIN items i ON i.id = q.item_id "
    "JOIN users asker ON asker.id = q.user_id LEFT JOIN users ans ON ans.id = q.answered_by"
)


def add(conn: Connection, *, project_id: int, item_id: int, user_id: int, body: str,
        now: float) -> int:
    return int(fast.value(
        conn,
        "INSERT INTO questions (project_id, item_id, user_id, body, created_at, status, answer) "
        "VALUES (:p, :i, :u, :b, :t, 'open', '') RETURNING id",
        {"p": project_id, "i": item_id, "u": user_id, "b": body, "t": now},
    ))


def get(conn: Connection, *, project_id: int, question_id: int) -> dict[str, Any] | None:
    return fast.one(conn, f"SELECT {_COLS} {_FROM} WHERE q.id = :q AND q.project_id = :p",
                    {"q": question_id, "p": project_id})


def of_user(conn: Connection, *, project_id: int, user_id: int, item_id: int | None
            ) -> list[dict[str, Any]]:
    """A user's questions in the project (on one item, if given), newest first."""
    extra = " AND q.item_id = :i" if item_id is not None else ""
    return fast.rows(
        conn,
        f"SELECT {_COLS} {_FROM} WHERE q.user_id = :u AND q.project_id = :p{extra} "
        "ORDER BY q.id DESC LIMIT 200",
        {"u": user_id, "p": project_id, "i": item_id},
    )


def listing(conn: Connection, *, project_id: int, status: str | None, limit: int
            ) -> list[dict[str, Any]]:
    """The project's questions (of one status, if given): open ones oldest first, so the
    longest-waiting question is on top; others newest first."""
    if status is None:
        return fast.rows(conn, f"SELECT {_COLS} {_FROM} WHERE q.project_id = :p "
                         "ORDER BY q.id DESC LIMIT :l", {"p": project_id, "l": limit})
    order = "q.id" if status == "open" else "q.id DESC"
    return fast.rows(
        conn,
        f"SELECT {_COLS} {_FROM} WHERE q.project_id = :p AND q.status = :s ORDER BY {order} "
        "LIMIT :l",
        {"p": project_id, "s": status, "l": limit},
    )


def answer(conn: Connection, *, question_id: int, user_id: int | None, text: str, status: str,
           now: float) -> None:
    fast.execute(
        conn,
        "UPDATE questions SET answer = :a, answered_by = :u, answered_at = :t, status = :s "
        "WHERE id = :q",
        {"a": text, "u": user_id, "t": now, "s": status, "q": question_id},
    )
