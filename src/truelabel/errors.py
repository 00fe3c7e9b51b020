"""Every error truelabel raises on purpose, in one hierarchy (and the quality warnings).

Each error class has a stable ``code`` (the ``"error"`` of the JSON error shape
``{"error", "message", "detail"}``) and the HTTP ``status`` it is answered with; catch
:class:`TruelabelError` for all of them. The tree, with statuses, is in the docstring of
:mod:`truelabel.domain.errors`, which implements them.

    >>> from truelabel.errors import NotFound
    >>> NotFound.code, NotFound.status
    ('not_found', 404)
"""

from __future__ import annotations

from truelabel.domain.errors import (
    AlreadyExists,
    AnnotationInvalid,
    AuthError,
    Cancelled,
    Conflict,
    ConstraintViolation,
    ConvergenceWarning,
    DigestMismatch,
    DuplicateRatings,
    EmptyAnnotation,
    Forbidden,
    HotkeyCollision,
    IllegalTransition,
    ImportFailed,
    InvalidInput,
    InvalidQualityInput,
    LeaseExpired,
    NotEnoughData,
    NotFound,
    NoVariation,
    ProjectArchived,
    ProjectError,
    QualityError,
    QualityWarning,
    SchemaError,
    SignOffNeedsOverride,
    StaleVersion,
    TooManyAttempts,
    TruelabelError,
    Unavailable,
    UnknownComponent,
    UnknownLabel,
)

__all__ = [
    "AlreadyExists",
    "AnnotationInvalid",
    "AuthError",
    "Cancelled",
    "Conflict",
    "ConstraintViolation",
    "ConvergenceWarning",
    "DigestMismatch",
    "DuplicateRatings",
    "EmptyAnnotation",
    "Forbidden",
    "HotkeyCollision",
    "ImportFailed",
    "InvalidInput",
    "InvalidQualityInput",
    "LeaseExpired",
    "NoVariation",
    "NotEnoughData",
    "NotFound",
    "ProjectArchived",
    "ProjectError",
    "QualityError",
    "QualityWarning",
    "SchemaError",
    "StaleVersion",
    "IllegalTransition",
    "SignOffNeedsOverride",
    "TooManyAttempts",
    "TruelabelError",
    "Unavailable",
    "UnknownComponent",
    "UnknownLabel",
    "error_classes",
]


def error_classes() -> list[type[TruelabelError]]:
    """Every error class, base first then depth-first (for docs and the error-code table)."""
    out: list[type[TruelabelError]] = []

    def walk(cls: type[TruelabelError]) -> None:
        if cls not in out:
            out.append(cls)
            for sub in cls.__subclasses__():
                walk(sub)

    walk(TruelabelError)
    return out
