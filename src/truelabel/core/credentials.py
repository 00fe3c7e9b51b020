"""API tokens: create (shown once), list, revoke; scopes, expiry and last use.

``workspace.tokens`` is this service. A token is ``tl_`` + 256 random bits; only its SHA-256
is stored. Revoking deletes the row, so nothing (re-enabling the account, restoring the
password) brings a token back. Password changes and disabling an account revoke all of the
user's tokens in the same transaction (``revoke_all``).

Last use is written coarsely — at most once a minute per token and process, by one
background thread — so the annotators' loop never waits for it.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Protocol

from truelabel.domain.errors import AuthError, Forbidden, InvalidInput, NotFound
from truelabel.domain.models import Credential, User
from truelabel.domain.results import NewToken, TokenRow
from truelabel.domain.roles import TokenScope
from truelabel.store import accounts, projects
from truelabel.store.db import Connection

if TYPE_CHECKING:
    from truelabel.store.db import Database


class Workspace(Protocol):
    """What the credentials use of their :class:`~truelabel.core.workspace.Workspace`."""

    db: Database
    tokens: Tokens

    def _token_by_digest(self, digest: str) -> tuple[User, TokenScope]: ...
    def _session_by_digest(self, digest: str) -> tuple[User, str]: ...

#: days until a new token expires unless the caller chooses (``None``: never, explicitly)
DEFAULT_TOKEN_DAYS = 90
MAX_TOKEN_DAYS = 3650
#: a token's ``last_used_at`` is written at most this often (seconds, per process)
TOUCH_SECONDS = 60.0

log = logging.getLogger(__name__)


def digest(secret: str) -> str:
    """How a session or token secret is stored: its SHA-256, hex."""
    return hashlib.sha256(secret.encode()).hexdigest()


def token_scope(scope: TokenScope | str) -> TokenScope:
    try:
        return TokenScope(scope)
    except ValueError:
        raise InvalidInput(
            f"Unknown token scope {scope!r}; scopes are {[s.value for s in TokenScope]}.",
            field="scope") from None


class Tokens:
    """The API tokens of one workspace (see the module's docstring)."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self._touched: dict[str, float] = {}
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def create(
        self,
        user: User,
        *,
        name: str = "",
        scope: TokenScope | str = TokenScope.MANAGE,
        expires_in_days: float | None = DEFAULT_TOKEN_DAYS,
        ttl_seconds: float | None = None,
        actor: User | None = None,
    ) -> NewToken:
        """A new token for ``user``: its row (id, name, scope, created_at, expires_at) and,
        once only, the ``token`` itself. ``expires_in_days=None`` makes a token that never
        expires; ``ttl_seconds`` (if given) sets the lifetime in seconds instead."""
        self._may_manage(user, actor)
        name = name.strip()
        if len(name) > 200:
            raise InvalidInput("A token name is at most 200 characters.", field="name")
        sc = token_scope(scope)
        if ttl_seconds is not None:
            if not 0 < ttl_seconds <= MAX_TOKEN_DAYS * 86400:
                raise InvalidInput(f"ttl_seconds is 1 to {MAX_TOKEN_DAYS * 86400}.",
                                   field="ttl_seconds")
            life: float | None = ttl_seconds
        elif expires_in_days is None:
            life = None
        elif not 0 < expires_in_days <= MAX_TOKEN_DAYS:
            raise InvalidInput(
                f"A token expires in 1 to {MAX_TOKEN_DAYS} days (or never: expires_in_days "
                "null, --expires-in never).", field="expires_in_days")
        else:
            life = expires_in_days * 86400
        token = "tl_" + secrets.token_urlsafe(32)
        now = time.time()
        expires_at = now + life if life is not None else None
        with self.ws.db.write() as conn:
            tid = accounts.add_token(conn, user_id=user.id, token_hash=digest(token),
                                     name=name, scope=sc.value, now=now, expires_at=expires_at)
            projects.audit(conn, at=now, user_id=actor.id if actor else None,
                           action="token.create", object_type="token", object_id=tid,
                           detail={"user": user.username, "name": name, "scope": sc.value,
                                   "expires_at": expires_at})
        return {"id": tid, "name": name, "scope": sc.value, "created_at": now,
                "expires_at": expires_at, "last_used_at": None, "token": token}

    def list(self, user: User, *, actor: User | None = None) -> list[TokenRow]:
        """``user``'s tokens, oldest first: id, name, scope, created_at, expires_at,
        last_used_at (never the secret or its hash)."""
        self._may_manage(user, actor)
        with self.ws.db.read() as conn:
            return accounts.list_tokens(conn, user.id)

    def revoke(self, user: User, token_id: int, *, actor: User | None = None) -> None:
        """Delete one of ``user``'s tokens; its next request gets 401."""
        self._may_manage(user, actor)
        with self.ws.db.write() as conn:
            if not accounts.delete_tokens(conn, user_id=user.id, token_id=token_id):
                raise NotFound(f"{user.username} has no token {token_id}; list them with: "
                               f"truelabel user tokens LOCATION {user.username}")
            projects.audit(conn, at=time.time(), user_id=actor.id if actor else None,
                           action="token.revoke", object_type="token", object_id=token_id,
                           detail={"user": user.username})

    def revoke_all(self, conn: Connection, user: User, *, actor: User | None,
                   reason: str) -> None:
        """Delete every token of ``user`` in the caller's transaction (password change,
        account disabled), audited with ``reason``."""
        ids = accounts.delete_tokens(conn, user_id=user.id)
        if ids:
            projects.audit(conn, at=time.time(), user_id=actor.id if actor else None,
                           action="token.revoke", object_type="user", object_id=user.id,
                           detail={"user": user.username, "tokens": ids, "reason": reason})

    # -- last use ---------------------------------------------------------------------------
    def note_use(self, digest: str) -> None:
        """Remember that the token with this digest was used now (written in the background,
        at most once per :data:`TOUCH_SECONDS`)."""
        now = time.time()
        last = self._touched.get(digest)
        if last is not None and now - last < TOUCH_SECONDS:
            return
        with self._lock:
            if len(self._touched) >= 10_000:
                self._touched.clear()
            self._touched[digest] = now
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="truelabel-touch")
            pool = self._pool
        pool.submit(self._touch, digest, now)

    def flush(self) -> None:
        """Wait until every last-use time noted so far is written."""
        with self._lock:
            pool = self._pool
        if pool is not None:
            done: Future[None] = pool.submit(lambda: None)
            done.result()

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def _touch(self, digest: str, now: float) -> None:
        try:
            with self.ws.db.write(durable=False) as conn:
                accounts.touch_token(conn, digest, now)
        except Exception:  # noqa: BLE001 - a lost last-use time is not worth a failure
            log.warning("could not record a token's last use", exc_info=True)

    def _may_manage(self, user: User, actor: User | None) -> None:
        if actor is not None and actor.id != user.id and not actor.is_admin:
            raise Forbidden("Only an admin can manage another user's tokens.")


class LoopCredentials:
    """Credentials the annotators' loop re-checks in its own statement (``ws.seen_credential``,
    ``ws.credential_failed``)."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self._seen: dict[Credential, tuple[User, str, TokenScope]] = {}

    def seen(self, kind: str, token: str) -> tuple[User, str, Credential, TokenScope]:
        """(user, CSRF token, credential, scope) for an API token (``kind`` "token"; its
        scope) or a session cookie ("session"; scope manage), remembered in this process
        after the first full check (a token's scope never changes).

        A remembered answer is NOT proof the credential is still good: pass the credential
        to the method doing the work (``Project.next_task``, ``Project.submit``), whose
        first statement checks it again (revoked, expired, account disabled) and fails with
        the same 401 as a full check would.
        """
        cred = Credential(kind, digest(token))
        hit = self._seen.get(cred)
        if hit is None:
            if kind == "token":
                (user, scope), csrf = self.ws._token_by_digest(cred.digest), ""
            else:
                (user, csrf), scope = self.ws._session_by_digest(cred.digest), TokenScope.MANAGE
            if len(self._seen) >= 10_000:
                self._seen.clear()
            hit = self._seen[cred] = (user, csrf, scope)
        elif kind == "token":
            self.ws.tokens.note_use(cred.digest)
        return hit[0], hit[1], cred, hit[2]

    def failed(self, cred: Credential) -> AuthError:
        """The 401 for a credential that a hot statement found no longer good; forgets it."""
        self._seen.pop(cred, None)
        try:
            if cred.kind == "token":
                self.ws._token_by_digest(cred.digest)
            else:
                self.ws._session_by_digest(cred.digest)
        except AuthError as exc:
            return exc
        return AuthError("Your login changed while this request ran; send it again.")
