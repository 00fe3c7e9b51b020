"""The exceptions truelabel raises, one hierarchy for library, CLI and HTTP.

Import them from :mod:`truelabel.errors` (this module is its implementation, kept in the
domain layer so every layer can raise them). Each class has a stable ``code`` (the
``"error"`` of the JSON shape) and the HTTP ``status`` it is answered with::

    TruelabelError              (500)  base class
    ├── InvalidInput            (422)  bad data from the caller
    │   ├── SchemaError                a label schema that cannot be used
    │   │   └── HotkeyCollision        two options, labels or a page key on one key
    │   ├── UnknownComponent           an unknown field type / format name (lists the known ones)
    │   ├── AnnotationInvalid          an annotation value that does not fit its field
    │   │   └── EmptyAnnotation        an annotation with no value where the schema refuses it
    │   ├── ImportFailed               a file that cannot be imported (names file and line)
    │   └── DigestMismatch             bytes that do not hash to the content hash they claim
    ├── QualityError            (422)  a quality engine cannot compute (also a ValueError)
    │   ├── InvalidQualityInput        shapes, lengths, unknown options (also InvalidInput)
    │   │   └── UnknownLabel           a label outside the declared classes
    │   ├── DuplicateRatings           one annotator rated one unit more than once
    │   └── NotEnoughData              too few units, ratings or annotators to compute
    │       └── NoVariation            every rating is the same, so chance agreement is 1
    ├── NotFound                (404)  no such object, or not visible to this user
    ├── Conflict                (409)  the request races something newer
    │   ├── LeaseExpired               a submit on a lease that is gone
    │   ├── StaleVersion               an edit based on a superseded annotation
    │   ├── IllegalTransition          a step the item's lifecycle state does not allow
    │   ├── SignOffNeedsOverride       a sign-off with warnings and no override reason
    │   ├── AlreadyExists              a name (a unique key) that is taken
    │   ├── ProjectArchived            an archived project gives no new tasks
    │   └── ConstraintViolation        a write that breaks another rule of the database
    ├── AuthError               (401)  not logged in, wrong password, expired token
    ├── Forbidden               (403)  logged in, but the role does not allow it
    ├── TooManyAttempts         (429)  too many failed logins or password checks; wait
    ├── Unavailable             (503)  the database is locked, unreachable or restarting
    └── ProjectError            (500)  the project folder or database is unusable

    UserWarning
    └── QualityWarning                 a quality engine's result needs care
        └── ConvergenceWarning         EM stopped at max_iter before reaching tol

Every message says what happened and what to do about it. The store translates the
database driver's errors into these (``truelabel.store.errors``); nothing above the store
sees a driver exception.
"""

from __future__ import annotations

from typing import Any, ClassVar


class TruelabelError(Exception):
    """Base class of every error truelabel raises on purpose."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "error"

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
    """Bad data from the caller: fix the request and send it again."""

    status = 422
    code = "invalid_input"


class SchemaError(InvalidInput):
    """A label schema that cannot be used (the message names the field and rule)."""

    code = "schema_error"


class HotkeyCollision(SchemaError):
    """Two options or labels of a schema on one key, or one on a key the labeling page keeps."""

    code = "hotkey_collision"


class UnknownComponent(InvalidInput):
    """An unknown field type, format or component name (the message lists the known ones)."""

    code = "unknown_component"


class AnnotationInvalid(InvalidInput):
    """An annotation value that does not fit its field."""

    code = "annotation_invalid"


class EmptyAnnotation(AnnotationInvalid):
    """An annotation with no field filled in, on a schema with ``empty_submissions: refuse``."""

    code = "empty_annotation"


class DigestMismatch(InvalidInput):
    """Bytes that do not hash to the content hash they were given with (a damaged copy)."""

    code = "digest_mismatch"


class ImportFailed(InvalidInput):
    """A file that cannot be imported (the message names the file and line)."""

    code = "import_failed"


class NotFound(TruelabelError):
    """No such object, or one this user may not see."""

    status = 404
    code = "not_found"


class Conflict(TruelabelError):
    """The request races something newer; reload and try again."""

    status = 409
    code = "conflict"


class Cancelled(Conflict):
    """A job stopped because someone cancelled it (nothing of it was kept)."""

    code = "cancelled"


class LeaseExpired(Conflict):
    """A submit on a task lease that has expired or was taken back."""

    code = "lease_expired"


class StaleVersion(Conflict):
    """An edit based on an annotation that has since been superseded."""

    code = "stale_version"


class IllegalTransition(Conflict):
    """A step the item's lifecycle state does not allow (e.g. rejecting a decided item)."""

    code = "illegal_transition"


class SignOffNeedsOverride(Conflict):
    """A sign-off with warnings (open adjudications, low agreement) and no override reason."""

    code = "signoff_needs_override"


class AlreadyExists(Conflict):
    """A name or unique key that is already taken."""

    code = "already_exists"


class ProjectArchived(Conflict):
    """The project is archived: it gives no new tasks (its data is kept)."""

    code = "project_archived"


class ConstraintViolation(Conflict):
    """A write that breaks a rule of the database, such as a reference to a removed row."""

    code = "constraint_violation"


class AuthError(TruelabelError):
    """Not logged in, a wrong password, or an expired or revoked token."""

    status = 401
    code = "unauthorized"


class Forbidden(TruelabelError):
    """Logged in, but the role or token scope does not allow this."""

    status = 403
    code = "forbidden"


class TooManyAttempts(TruelabelError):
    """Too many attempts: wait ``detail["retry_after"]`` seconds (sent as ``Retry-After``)."""

    status = 429
    code = "too_many_attempts"


class Unavailable(TruelabelError):
    """The database is locked by another writer, unreachable or restarting; try again."""

    status = 503
    code = "unavailable"


class ProjectError(TruelabelError):
    """The project folder, its settings or its database is unusable."""

    status = 500
    code = "project_error"


# -- the quality engines' errors: ValueErrors too, so ``except ValueError`` keeps working --


class QualityError(TruelabelError, ValueError):
    """A quality engine cannot compute the statistic from the data it was given."""

    status = 422
    code = "quality_error"


class InvalidQualityInput(QualityError, InvalidInput):
    """Ratings of the wrong shape, length or type, or an unknown option value."""

    code = "invalid_quality_input"


class UnknownLabel(InvalidQualityInput):
    """A label that is not one of the classes the caller declared."""

    code = "unknown_label"


class DuplicateRatings(QualityError):
    """An annotator rated the same unit more than once where one rating is required."""

    code = "duplicate_ratings"


class NotEnoughData(QualityError):
    """Too little overlapping data (units, ratings, annotators) for the statistic."""

    code = "not_enough_data"


class NoVariation(NotEnoughData):
    """Every pairable value is identical, so chance-corrected agreement is undefined."""

    code = "no_variation"


class QualityWarning(UserWarning):
    """Base class of warnings issued by the quality engines."""


class ConvergenceWarning(QualityWarning):
    """An iterative estimator stopped at its iteration limit before converging."""
