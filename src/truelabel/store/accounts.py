"""Users, project members, login sessions and API tokens (hashes only; never secrets)."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Connection, and_, func, insert, or_, select, update

from truelabel.domain.results import MemberRow, TokenRow, UserRow

from .tables import api_tokens, auth_failures, members, new_id, sessions, users

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


def list_users(conn: Connection) -> list[UserRow]:
    rows = conn.execute(select(*_USER_COLS).order_by(users.c.id))
    return [cast(UserRow, dict(r._mapping)) for r in rows]


def update_user(conn: Connection, user_id: int, **values: Any) -> None:
    conn.execute(update(users).where(users.c.id == user_id).values(**values))


def set_member(conn: Connection, *, project_id: int, user_id: int, role: str) -> None:
    conn.execute(
        members.delete().where(members.c.project_id == project_id, members.c.user_id == user_id)
    )
    conn.execute(insert(members).values(project_id=project_id, user_id=user_id, role=role))


def remove_member(conn: Connection, *, project_id: int, user_id: int) -> bool:
    """Take a user out of a project; False if they were not a member."""
    gone = conn.execute(
        members.delete().where(members.c.project_id == project_id, members.c.user_id == user_id)
    )
    return bool(gone.rowcount)


def guidelines_seen(conn: Connection, *, project_id: int, user_id: int) -> int | None:
    """The guideline version a member last acknowledged (None: none yet, or not a member)."""
    return conn.execute(
        select(members.c.guidelines_seen).where(
            members.c.project_id == project_id, members.c.user_id == user_id
        )
    ).scalar()


def set_guidelines_seen(conn: Connection, *, project_id: int, user_id: int, version: int) -> None:
    conn.execute(
        update(members)
        .where(members.c.project_id == project_id, members.c.user_id == user_id)
        .values(guidelines_seen=version)
    )


def member_role(conn: Connection, *, project_id: int, user_id: int) -> str | None:
    return conn.execute(
        select(members.c.role).where(
            members.c.project_id == project_id, members.c.user_id == user_id
        )
    ).scalar()


def project_members(conn: Connection, project_id: int) -> list[MemberRow]:
    q = (
        select(users.c.id, users.c.username, users.c.display_name, members.c.role)
        .join(members, members.c.user_id == users.c.id)
        .where(members.c.project_id == project_id)
        .order_by(users.c.username)
    )
    return [cast(MemberRow, dict(r._mapping)) for r in conn.execute(q)]


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
    scope: str,
    now: float,
    expires_at: float | None,
) -> int:
    return new_id(
        conn.execute(
            insert(api_tokens).values(
                user_id=user_id,
                token_hash=token_hash,
                name=name,
                scope=scope,
                created_at=now,
                expires_at=expires_at,
            )
        )
    )


_TOKEN_COLS = (
    api_tokens.c.id,
    api_tokens.c.name,
    api_tokens.c.scope,
    api_tokens.c.created_at,
    api_tokens.c.expires_at,
    api_tokens.c.last_used_at,
)


def list_tokens(conn: Connection, user_id: int) -> list[TokenRow]:
    """A user's tokens (never their hashes), oldest first."""
    q = select(*_TOKEN_COLS).where(api_tokens.c.user_id == user_id).order_by(api_tokens.c.id)
    return [cast(TokenRow, dict(r._mapping)) for r in conn.execute(q)]


def get_token(conn: Connection, *, user_id: int, token_id: int) -> TokenRow | None:
    row = conn.execute(select(*_TOKEN_COLS).where(
        api_tokens.c.id == token_id, api_tokens.c.user_id == user_id)).first()
    return cast(TokenRow, dict(row._mapping)) if row else None


def delete_tokens(conn: Connection, *, user_id: int, token_id: int | None = None) -> list[int]:
    """Delete one of a user's tokens (or all of them); the ids deleted."""
    cond = api_tokens.c.user_id == user_id
    if token_id is not None:
        cond = and_(cond, api_tokens.c.id == token_id)
    ids = [int(r[0]) for r in conn.execute(select(api_tokens.c.id).where(cond))]
    if ids:
        conn.execute(api_tokens.delete().where(api_tokens.c.id.in_(ids)))
    return ids


def touch_token(conn: Connection, token_hash: str, now: float) -> None:
    conn.execute(update(api_tokens).where(
        api_tokens.c.token_hash == token_hash,
        or_(api_tokens.c.last_used_at.is_(None), api_tokens.c.last_used_at < now),
    ).values(last_used_at=now))


def token_user(conn: Connection, token_hash: str) -> dict[str, Any] | None:
    """The token and its user in one statement (every API request asks this)."""
    from . import fast

    return fast.one(
        conn,
        "SELECT t.revoked, t.expires_at, t.scope, u.id, u.username, u.display_name, u.role, "
        "u.disabled FROM api_tokens t JOIN users u ON u.id = t.user_id "
        "WHERE t.token_hash = :h",
        {"h": token_hash},
    )


# -- failed logins and password checks (the throttle's shared counts) -----------------------
def add_failure(
    conn: Connection, *, kind: str, at: float, address: str, username: str,
    device: str | None, prune_before: float,
) -> None:
    """Record one failure and delete those older than ``prune_before`` (so the table holds
    only the throttle's window)."""
    conn.execute(auth_failures.delete().where(auth_failures.c.at < prune_before))
    conn.execute(insert(auth_failures).values(
        kind=kind, at=at, address=address[:100], username=username[:100], device=device))


def failure_counts(
    conn: Connection, *, kind: str, address: str, username: str, device: str | None,
    since: float, account_since: float,
) -> dict[str, Any]:
    """Failures of ``kind`` after ``since`` per (address, username), per address, per
    device, and per username after ``account_since`` (failures without a device cookie;
    with the oldest time of each, to say how long to wait)."""
    f = auth_failures.c
    no_device = f.device.is_(None)
    groups = {
        "pair": and_(f.address == address, f.username == username, no_device, f.at > since),
        "address": and_(f.address == address, no_device, f.at > since),
        "account": and_(f.username == username, no_device, f.at > account_since),
        "device": and_(f.username == username, f.device == (device or ""), f.at > since),
    }
    cols = []
    for name, cond in groups.items():
        cols.append(func.count().filter(cond).label(name))
        cols.append(func.min(f.at).filter(cond).label(name + "_first"))
    q = select(*cols).where(
        f.kind == kind, f.at > min(since, account_since),
        or_(f.username == username, f.address == address))
    return dict(conn.execute(q).one()._mapping)


def clear_failures(
    conn: Connection, *, kind: str, username: str, address: str | None = None,
    device: str | None = None,
) -> None:
    """Forget the failures of a login that succeeded: from this address (without a device
    cookie) or from this device."""
    f = auth_failures.c
    where = [f.kind == kind, f.username == username]
    if device is not None:
        where.append(f.device == device)
    else:
        where += [f.address == address, f.device.is_(None)]
    conn.execute(auth_failures.delete().where(*where))
