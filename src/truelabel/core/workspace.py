"""A workspace: one database plus one blob store, holding users and projects.

A workspace lives in a folder (``truelabel init myproject``: ``truelabel.db`` + ``blobs/``)
or, for a server, at a database URL with a blob URL beside it.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from truelabel.domain.environment import BLOB_URL, FAST_HASH
from truelabel.domain.errors import (
    AlreadyExists,
    AuthError,
    Forbidden,
    InvalidInput,
    NotFound,
    ProjectError,
)
from truelabel.domain.limits import check_guidelines
from truelabel.domain.models import Credential, User
from truelabel.domain.results import AuditEntry, ProjectRow, UserRow
from truelabel.domain.roles import Role, TokenScope, role_allows
from truelabel.domain.schema import LabelSchema
from truelabel.store import accounts, projects
from truelabel.store.blobs import BlobStore
from truelabel.store.db import Database

from . import url_import
from .context import NO_PROJECT
from .context import as_schema as _as_schema
from .creation import all_or_nothing, name_from_title
from .credentials import DEFAULT_TOKEN_DAYS, LoopCredentials, Tokens
from .credentials import digest as _digest
from .project import Project
from .report_cache import ResultCache
from .throttle import Throttle

DB_FILE = "truelabel.db"
SESSION_SECONDS = 7 * 24 * 3600


def _make_hasher() -> PasswordHasher:
    # argon2id with the library's defaults (RFC 9106 low-memory profile). The test suite sets
    # TRUELABEL_FAST_HASH=1 for cheap parameters; the algorithm and code path stay the same.
    if FAST_HASH.read() == "1":
        return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    return PasswordHasher()


_hasher = _make_hasher()


class Workspace:
    """Users, sessions, tokens and projects of one database. Build with :meth:`open`."""

    def __init__(self, db: Database, blobs: BlobStore, *, location: str = "") -> None:
        self.db = db
        self.blobs = blobs
        self.location = location
        self.results = ResultCache()  # derived results (the quality report) by change token
        self._dummy_hash: str | None = None
        self._projects: dict[int, Project] = {}
        self._names: dict[str, int] = {}  # project names never change
        self._loop = LoopCredentials(self)
        self.tokens = Tokens(self)
        self.throttle = Throttle(self)

    # -- opening --------------------------------------------------------------------------
    @classmethod
    def init(cls, path: str | Path, *, schema: str | None = None, name: str | None = None,
             overlap: int = 1, guidelines: str = "") -> Workspace:
        """Create a workspace folder (database, blob folder, secret key). Refuses to overwrite.

        With ``schema``, also its first project, named ``name`` (default: from the schema's
        title, else the folder's name) and titled by the schema. All or nothing: when any
        step fails, what was made is removed (:func:`creation.all_or_nothing`).
        """
        folder = Path(path)
        if (folder / DB_FILE).exists():
            raise AlreadyExists(f"{folder} already holds a truelabel project; open it instead.")
        db_files = tuple(DB_FILE + end for end in ("", "-wal", "-shm", "-journal"))
        with all_or_nothing(folder, db_files, ("blobs",)):
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)  # the owner's only (issue 10)
            (folder / "blobs").mkdir(exist_ok=True, mode=0o700)
            ws = cls.open(folder, create=True)
            try:
                if schema is not None:
                    sch = _as_schema(schema)
                    title = sch.title.strip()[:300]
                    ws.create_project(name or name_from_title(title, folder.resolve().name),
                                      sch, title=title, overlap=overlap, guidelines=guidelines)
            except BaseException:
                ws.close()
                raise
        return ws

    @classmethod
    def open(
        cls, location: str | Path, *, blob_url: str | None = None, create: bool = False
    ) -> Workspace:
        """Open a workspace folder or a database URL (``sqlite:///…``, ``postgresql://…``)."""
        loc = str(location)
        url, blobs = _storage(loc, blob_url, create)
        db = Database.open(url)
        ws = cls(db, BlobStore(blobs), location=loc)
        with db.write() as conn:
            if projects.get_setting(conn, "secret_key") is None:
                projects.set_setting(conn, "secret_key", secrets.token_hex(32))
        return ws

    def close(self) -> None:
        self.tokens.close()
        self.db.dispose()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def secret_key(self) -> str:
        with self.db.read() as conn:
            key = projects.get_setting(conn, "secret_key")
        if not key:
            raise ProjectError("This workspace has no secret key; run truelabel init.")
        return key

    # -- users ----------------------------------------------------------------------------
    def add_user(
        self,
        username: str,
        password: str,
        *,
        role: Role | str = Role.ANNOTATOR,
        display_name: str = "",
        actor: User | None = None,
    ) -> User:
        """Create a user. Only admins (or local callers, ``actor=None``) may."""
        self._require_admin(actor)
        role = _role(role)
        username = username.strip()
        if not username or len(username) > 100 or any(c.isspace() for c in username):
            raise InvalidInput("A username is 1-100 characters without spaces.", field="username")
        if len(display_name) > 200:
            raise InvalidInput("A display name is at most 200 characters.", field="display_name")
        _check_password(password)
        pw_hash = _hasher.hash(password)
        try:
            with self.db.write() as conn:
                uid = accounts.add_user(
                    conn,
                    username=username,
                    display_name=display_name,
                    password_hash=pw_hash,
                    role=role.value,
                    now=time.time(),
                )
                projects.audit(
                    conn,
                    at=time.time(),
                    user_id=actor.id if actor else None,
                    action="user.add",
                    object_type="user",
                    object_id=uid,
                    detail={"username": username, "role": role.value},
                )
        except AlreadyExists:
            raise AlreadyExists(
                f"User {username!r} already exists; pick another name.", field="username"
            ) from None
        return User(uid, username, role, display_name)

    def get_user(self, username: str) -> User:
        with self.db.read() as conn:
            row = accounts.get_user(conn, username=username)
        if row is None:
            raise NotFound(f"No user {username!r}. List users with: truelabel user list")
        return _user(row)

    def list_users(self) -> list[UserRow]:
        with self.db.read() as conn:
            return accounts.list_users(conn)

    def set_password(self, username: str, password: str, *, actor: User | None = None) -> None:
        user = self.get_user(username)
        if actor is not None and actor.id != user.id:
            self._require_admin(actor)
        _check_password(password)
        with self.db.write() as conn:
            accounts.update_user(conn, user.id, password_hash=_hasher.hash(password))
            accounts.delete_sessions(conn, user_id=user.id)
            self.tokens.revoke_all(conn, user, actor=actor, reason="password change")
            projects.audit(conn, at=time.time(), user_id=actor.id if actor else None,
                           action="user.password", object_type="user", object_id=user.id)

    def change_password(self, user: User, current: str, new: str, *, address: str) -> None:
        """A logged-in user changes their own password; the current one is checked, and
        wrong guesses are throttled per account (``Throttle.check_password``) and audited.
        Every session and API token of the user ends."""
        self.throttle.check_password(user.username)
        try:
            self.authenticate(user.username, current)
        except AuthError:
            self.throttle.failed("password", address, user.username, None)
            self.audit_event("password.failed", "user", user.id, actor=user,
                             detail={"address": address})
            raise
        self.set_password(user.username, new, actor=user)

    def set_disabled(self, username: str, disabled: bool, *, actor: User | None = None) -> None:
        self._require_admin(actor)
        user = self.get_user(username)
        with self.db.write() as conn:
            accounts.update_user(conn, user.id, disabled=disabled)
            accounts.delete_sessions(conn, user_id=user.id)
            if disabled:  # gone for good: enabling the account again brings none back
                self.tokens.revoke_all(conn, user, actor=actor, reason="account disabled")
            projects.audit(conn, at=time.time(), user_id=actor.id if actor else None,
                           action="user.disable" if disabled else "user.enable",
                           object_type="user", object_id=user.id)

    def audit_event(self, action: str, object_type: str, object_id: Any, *,
                    actor: User | None, detail: dict[str, Any] | None = None) -> None:
        """Append one entry to the audit log."""
        with self.db.write() as conn:
            projects.audit(conn, at=time.time(), user_id=actor.id if actor else None,
                           action=action, object_type=object_type, object_id=object_id,
                           detail=detail)

    def audit_log(self, *, actor: User | None = None, after: int = 0, limit: int = 100,
                  action: str | None = None) -> list[AuditEntry]:
        """Audit entries, oldest first after id ``after``. Admins only."""
        self._require_admin(actor)
        with self.db.read() as conn:
            return projects.audit_entries(conn, after=after, limit=limit, action=action)

    def _require_admin(self, actor: User | None) -> None:
        if actor is not None and not actor.is_admin:
            raise Forbidden("Only an admin can manage users.")

    # -- authentication -------------------------------------------------------------------
    def authenticate(self, username: str, password: str) -> User:
        """Check a password. The same error for unknown users and wrong passwords."""
        with self.db.read() as conn:
            row = accounts.get_user(conn, username=username)
        bad = AuthError("Wrong username or password. Check both and try again.")
        if row is None:
            if self._dummy_hash is None:
                self._dummy_hash = _hasher.hash(secrets.token_hex(8))
            _verify(self._dummy_hash, password)  # same time as a real check
            raise bad
        if not _verify(row["password_hash"], password):
            raise bad
        if row["disabled"]:
            raise AuthError("This account is disabled; ask an admin to enable it.")
        return _user(row)

    def login(self, username: str, password: str, *, address: str,
              device_cookie: str | None = None) -> tuple[User, str, str, str]:
        """Check a password under the login throttle (``core/throttle.py``) and start a
        session: (user, session token, CSRF token, device cookie value). Audited."""
        device = self.throttle.device_of(username, device_cookie)
        self.throttle.check_login(address, username, device)
        try:
            user = self.authenticate(username, password)
        except AuthError:
            self.throttle.failed("login", address, username, device)
            self.audit_event("login.failed", "user", username[:100], actor=None,
                             detail={"address": address, "known_device": device is not None})
            raise
        self.throttle.login_succeeded(address, username, device)
        token, csrf = self.create_session(user)
        self.audit_event("login", "user", user.id, actor=user, detail={"address": address})
        return user, token, csrf, self.throttle.new_device(username)

    def create_session(self, user: User) -> tuple[str, str]:
        """Return (session token, CSRF token). Only the session token's hash is stored."""
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
        now = time.time()
        with self.db.write() as conn:
            accounts.add_session(
                conn,
                token_hash=_digest(token),
                user_id=user.id,
                now=now,
                expires_at=now + SESSION_SECONDS,
                csrf_token=csrf,
            )
        return token, csrf

    def session_user(self, token: str) -> tuple[User, str]:
        """The user and CSRF token of a live session."""
        return self._session_by_digest(_digest(token))

    def _session_by_digest(self, digest: str) -> tuple[User, str]:
        with self.db.auto() as conn:  # one statement: no transaction round trips
            row = accounts.session_user(conn, digest)
        if row is None or row["expires_at"] < time.time() or row["disabled"]:
            raise AuthError("Your session has ended; log in again.")
        return _user(row), row["csrf_token"]

    def end_session(self, token: str) -> None:
        with self.db.write() as conn:
            accounts.delete_sessions(conn, token_hash=_digest(token))

    def create_token(self, user: User, *, name: str = "", scope: TokenScope | str = "manage",
                     expires_in_days: float | None = DEFAULT_TOKEN_DAYS,
                     ttl_seconds: float | None = None, actor: User | None = None) -> str:
        """A new API token for scripts (see ``Tokens.create``): only the secret, shown once."""
        return str(self.tokens.create(user, name=name, scope=scope, actor=actor,
                                      expires_in_days=expires_in_days,
                                      ttl_seconds=ttl_seconds)["token"])

    def token_user(self, token: str) -> User:
        return self._token_by_digest(_digest(token))[0]

    def token_login(self, token: str) -> tuple[User, TokenScope]:
        """The user of a live API token and the token's scope (401 if it is not live)."""
        return self._token_by_digest(_digest(token))

    def _token_by_digest(self, digest: str) -> tuple[User, TokenScope]:
        with self.db.auto() as conn:  # one statement: no transaction round trips
            row = accounts.token_user(conn, digest)
        if row is None or row["revoked"]:
            raise AuthError("Unknown API token (revoked or never issued); create one with: "
                            "truelabel user token LOCATION USER")
        if row["expires_at"] is not None and row["expires_at"] < time.time():
            raise AuthError("This API token has expired; create a new one with: "
                            "truelabel user token LOCATION USER")
        if row["disabled"]:
            raise AuthError("This account is disabled; ask an admin to enable it.")
        self.tokens.note_use(digest)
        return _user(row), TokenScope(row["scope"])

    # -- credentials the annotators' loop re-checks in its own statement ---------------------
    def seen_credential(self, kind: str, token: str
                        ) -> tuple[User, str, Credential, TokenScope]:
        """See :meth:`.credentials.LoopCredentials.seen`."""
        return self._loop.seen(kind, token)

    def credential_failed(self, cred: Credential) -> AuthError:
        """See :meth:`.credentials.LoopCredentials.failed`."""
        return self._loop.failed(cred)

    def project_by_name(self, name: str) -> Project:
        """The project called ``name`` without a membership check: for callers that go on to
        a ``Project`` method, which checks the caller's role itself (404 for non-members)."""
        pid = self._names.get(name)
        if pid is None:
            with self.db.read() as conn:
                row = projects.get_project(conn, name=name)
            if row is None:
                raise NotFound(NO_PROJECT)
            pid = self._names[name] = int(row["id"])
        if pid not in self._projects:
            self._projects[pid] = Project(self, pid)
        return self._projects[pid]

    # -- projects -------------------------------------------------------------------------
    def create_project(
        self,
        name: str,
        schema: LabelSchema | dict[str, Any] | str,
        *,
        title: str = "",
        overlap: int = 1,
        guidelines: str = "",
        actor: User | None = None,
    ) -> Project:
        if actor is not None and not role_allows(actor.role, "project.create"):
            if actor.role != Role.ADMIN:
                raise Forbidden("Only an admin can create projects.")
        if not name or len(name) > 100 or not all(c.isalnum() or c in "-_." for c in name):
            raise InvalidInput(
                "A project name is 1-100 letters, digits, '-', '_' or '.'.", field="name"
            )
        if overlap < 1:
            raise InvalidInput("overlap must be at least 1.", field="overlap")
        if len(title) > 300:
            raise InvalidInput("A project title is at most 300 characters.", field="title")
        check_guidelines(guidelines)
        sch = _as_schema(schema)
        now = time.time()
        try:
            with self.db.write() as conn:
                pid = projects.add_project(
                    conn, name=name, title=title or name, overlap=overlap, now=now
                )
                projects.add_version(
                    conn, "schema", project_id=pid, body=sch.to_json(), now=now, digest=sch.digest()
                )
                projects.add_version(conn, "guideline", project_id=pid, body=guidelines, now=now)
                projects.audit(
                    conn,
                    at=now,
                    user_id=actor.id if actor else None,
                    action="project.create",
                    object_type="project",
                    object_id=pid,
                )
        except AlreadyExists:
            raise AlreadyExists(
                f"A project named {name!r} exists; pick another name.", field="name"
            ) from None
        return Project(self, pid)

    def project(self, ref: str | int | None = None, *, actor: User | None = None) -> Project:
        """A project by name or id (the only one if ``ref`` is None), visible to ``actor``."""
        with self.db.read() as conn:
            if ref is None:
                rows = projects.list_projects(conn)
                if len(rows) != 1:
                    names = [r["name"] for r in rows]
                    raise NotFound(
                        f"This workspace holds {len(rows)} projects {names}; name the one you want."
                    )
                row: Mapping[str, Any] | None = rows[0]
            elif isinstance(ref, int) or (isinstance(ref, str) and ref.isascii()
                                          and ref.isdecimal()):
                row = projects.get_project(conn, project_id=int(ref))
            else:
                row = projects.get_project(conn, name=ref)
            if row is not None and actor is not None and not actor.is_admin:
                if accounts.member_role(conn, project_id=row["id"], user_id=actor.id) is None:
                    row = None
        if row is None:
            raise NotFound(NO_PROJECT)
        pid = int(row["id"])
        if pid not in self._projects:  # reused: keeps each project's parsed schemas
            self._projects[pid] = Project(self, pid)
        return self._projects[pid]

    # -- settings -------------------------------------------------------------------------
    def url_allowlist(self, *, actor: User | None = None) -> list[str]:
        """The addresses inside the network an import may reach (admins only)."""
        return url_import.get_url_allowlist(self, actor=actor)

    def set_url_allowlist(self, entries: list[str], *, actor: User | None = None) -> list[str]:
        """Replace the URL allow-list; every entry is checked first. Audited."""
        return url_import.set_url_allowlist(self, entries, actor=actor)

    def list_projects(self, *, actor: User | None = None) -> list[ProjectRow]:
        with self.db.read() as conn:
            uid = None if actor is None or actor.is_admin else actor.id
            # archived projects leave the members' lists; admins see them (marked)
            return projects.list_projects(conn, user_id=uid, archived=uid is None)


def _storage(loc: str, blob_url: str | None, create: bool) -> tuple[str, str]:
    """The database URL and blob location of a workspace folder or database URL."""
    # blob storage: an fsspec URL (s3://bucket/prefix …); S3 endpoint and keys come
    # from the usual AWS_* environment variables
    blob_url = blob_url or BLOB_URL.read() or None
    if "://" in loc:
        return loc, blob_url or str(Path.cwd() / "truelabel-blobs")
    folder = Path(loc)
    if not create and not (folder / DB_FILE).exists():
        raise ProjectError(
            f"{folder} is not a truelabel project (no {DB_FILE} in it). "
            f"Create one with: truelabel init {folder}"
        )
    return f"sqlite:///{folder.resolve() / DB_FILE}", blob_url or str((folder / "blobs").resolve())


def _verify(pw_hash: str, password: str) -> bool:
    try:
        return bool(_hasher.verify(pw_hash, password))
    except (VerificationError, InvalidHashError):
        return False


def _check_password(password: str) -> None:
    if len(password) < 8:
        raise InvalidInput("A password needs at least 8 characters.", field="password")


def _role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise InvalidInput(
            f"Unknown role {role!r}; roles are {[r.value for r in Role]}.", field="role"
        ) from None


def _user(row: dict[str, Any]) -> User:
    return User(int(row["id"]), row["username"], Role(row["role"]), row["display_name"])
