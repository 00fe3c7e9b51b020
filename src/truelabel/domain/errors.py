"""The exceptions truelabel raises, one hierarchy for library, CLI and HTTP.

::

    TruelabelError
    ├── InvalidInput            (422)  bad data from the caller
    │   ├── SchemaError                a label schema that cannot be used
    │   ├── UnknownComponent           an unknown field type / format name (lists the known ones)
    │   ├── AnnotationInvalid          an annotation value that does not fit its field
    │   └── ImportFailed               a file that cannot be imported (names file and line)
    ├── NotFound                (404)  no such object, or not visible to this user
    ├── Conflict                (409)  the request races something newer
    │   ├── LeaseExpired               a submit on a lease that is gone
    │   ├── StaleVersion               an edit based on a superseded annotation
    │   └── AlreadyExists              a name that is taken
    ├── AuthError               (401)  not logged in, wrong password, expired token
    ├── Forbidden               (403)  logged in, but the role does not allow it
    ├── TooManyAttempts         (429)  too many failed logins or password checks; wait
    └── ProjectError            (500)  the project folder or database is unusable

Every message says what happened and what to do about it.
"""

from __future__ import annotations

from typing import Any


class TruelabelError(Exception):
    """Base class of every error truelabel raises on purpose."""

    status = 500
    code = "error"

    def __init__(self, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail

    def to_dict(self) -> dict[str, Any]:
        """The one JSON error shape used at the HTTP edge and by ``--json`` output."""
        out: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.detail:
            out["detail"] = self.detail
        return out


class InvalidInput(TruelabelError):
    status = 422
    code = "invalid_input"


class SchemaError(InvalidInput):
    code = "schema_error"


class UnknownComponent(InvalidInput):
    code = "unknown_component"


class AnnotationInvalid(InvalidInput):
    code = "annotation_invalid"


class ImportFailed(InvalidInput):
    code = "import_failed"


class NotFound(TruelabelError):
    status = 404
    code = "not_found"


class Conflict(TruelabelError):
    status = 409
    code = "conflict"


class Cancelled(Conflict):
    """A job stopped because someone cancelled it (nothing of it was kept)."""

    code = "cancelled"


class LeaseExpired(Conflict):
    code = "lease_expired"


class StaleVersion(Conflict):
    code = "stale_version"


class AlreadyExists(Conflict):
    code = "already_exists"


class AuthError(TruelabelError):
    status = 401
    code = "unauthorized"


class Forbidden(TruelabelError):
    status = 403
    code = "forbidden"


class TooManyAttempts(TruelabelError):
    """Throttled: ``detail["retry_after"]`` seconds to wait (sent as ``Retry-After``)."""

    status = 429
    code = "too_many_attempts"


class ProjectError(TruelabelError):
    status = 500
    code = "project_error"
