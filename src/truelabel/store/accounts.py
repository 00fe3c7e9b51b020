"""Users, project members, login sessions and API tokens (hashes only; never secrets)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select, update

from .tables import api_tokens, members, new_id, sessions, users

_USER_COLS = (
    users.c.id,
    users.c.username,
    users.c.display_name,
    users.c.role,
    users.c.disabled,
    users.c.created_at,
)


def add_user(
    conn: Connection, *, username: str, display_name: str, password_hash: str, role: str, now: float
) -> int:
    return new_id(
        conn.execute(
            insert(users).values(
                username=username,
                display_name=display_name,
                password_hash=password_hash,
                role=role,
                created_at=now,
            )
        )
    )


def get_user(
    conn: Connection, *, user_id: int | None = None, username: str | None = None
) -> dict[str, Any] | None:
    q = select(*_USER_COLS, users.c.password_hash)
    q = (
        q.where(users.c.id == user_id)
        if user_id is not None
        else q.where(users.c.username == username)
    )
    row = conn.execute(q).first()
    return dict(row._mapping) if row else None


def list_users(conn: Connection) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(select(*_USER_COLS).order_by(users.c.id))]


def update_user(conn: Connection, user_id: int, **values: Any) -> None:
    conn.execute(update(users).where(users.c.id == user_id).values(**values))


def set_member(conn: Connection, *, project_id: int, user_id: int, role: str) -> None:
    conn.execute(
        members.delete().where(members.c.project_id == project_id, members.c.user_id == user_id)
    )
    conn.execute(insert(members).values(project_id=project_id, user_id=user_id, role=role))


def member_role(conn: Connection, *, project_id: int, user_id: int) -> str | None:
    return conn.execute(
        select(members.c.role).where(
            members.c.project_id == project_id, members.c.user_id == user_id
        )
    ).scalar()


def project_members(conn: Connection, project_id: int) -> list[dict[str, Any]]:
    q = (
        select(users.c.id, users.c.username, users.c.display_name, members.c.role)
        .join(members, members.c.user_id == users.c.id)
        .where(members.c.project_id == project_id)
        .order_by(users.c.username)
    )
    return [dict(r._mapping) for r in conn.execute(q)]


def add_session(
    conn: Connection,
    *,
    token_hash: str,
    user_id: int,
    now: float,
    expires_at: float,
    csrf_token: str,
) -> None:
    conn.execute(
        insert(sessions).values(
            token_hash=token_hash,
            user_id=user_id,
            created_at=now,
            expires_at=expires_at,
            csrf_token=csrf_token,
        )
    )


def session_user(conn: Connection, token_hash: str) -> dict[str, Any] | None:
    """The session and its user in one statement (every page and browser request asks)."""
    from . import fast

    return fast.one(
        conn,
        "SELECT s.expires_at, s.csrf_token, u.id, u.username, u.display_name, u.role, "
        "u.disabled FROM sessions s JOIN users u ON u.id = s.user_id "
        "WHERE s.token_hash = :h",
        {"h": token_hash},
    )


def delete_sessions(
    conn: Connection, *, token_hash: str | None = None, user_id: int | None = None
) -> None:
    q = sessions.delete()
    q = (
        q.where(sessions.c.token_hash == token_hash)
        if token_hash
        else q.where(sessions.c.user_id == user_id)
    )
    conn.execute(q)


def add_token(
    conn: Connection,
    *,
    user_id: int,
    token_hash: str,
    name: str,
    now: float,
    expires_at: float | None,
) -> int:
    return new_id(
        conn.execute(
            insert(api_tokens).values(
                user_id=user_id,
                token_hash=token_hash,
                name=name,
                created_at=now,
                expires_at=expires_at,
            )
        )
    )


def get_token(conn: Connection, token_hash: str) -> dict[str, Any] | None:
    row = conn.execute(select(api_tokens).where(api_tokens.c.token_hash == token_hash)).first()
    return dict(row._mapping) if row else None


def token_user(conn: Connection, token_hash: str) -> dict[str, Any] | None:
    """The token and its user in one statement (every API request asks this)."""
    from . import fast

    return fast.one(
        conn,
        "SELECT t.revoked, t.expires_at, u.id, u.username, u.display_name, u.role, "
        "u.disabled FROM api_tokens t JOIN users u ON u.id = t.user_id "
        "WHERE t.token_hash = :h",
        {"h": token_hash},
    )
