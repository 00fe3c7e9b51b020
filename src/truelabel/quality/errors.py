"""Errors and warnings raised by the quality engines (re-exported from :mod:`truelabel.errors`).

Every error is a :class:`ValueError` as well as a :class:`truelabel.errors.TruelabelError`, so
callers that already guard numeric code with ``except ValueError`` keep working; catch
:class:`QualityError` to handle only ours::

    ValueError, TruelabelError
     └── QualityError
          ├── InvalidInput          shapes, lengths, unknown options, malformed spans
          │    └── UnknownLabel     a label outside the declared classes
          ├── DuplicateRatings      one annotator rated one unit more than once
          └── NotEnoughData         too few units, ratings or annotators to compute
               └── NoVariation      every rating is the same, so chance agreement is 1

    UserWarning
     └── QualityWarning
          └── ConvergenceWarning    EM stopped at max_iter before reaching tol

``InvalidInput`` here is :class:`truelabel.errors.InvalidQualityInput` (a subclass of both
``QualityError`` and the platform's ``InvalidInput``). Every message says what happened and
what to do about it.
"""

from __future__ import annotations

from truelabel.domain.errors import (
    ConvergenceWarning,
    DuplicateRatings,
    NotEnoughData,
    NoVariation,
    QualityError,
    QualityWarning,
    UnknownLabel,
)
from truelabel.domain.errors import InvalidQualityInput as InvalidInput

__all__ = [
    "ConvergenceWarning",
    "DuplicateRatings",
    "InvalidInput",
    "NoVariation",
    "NotEnoughData",
    "QualityError",
    "QualityWarning",
    "UnknownLabel",
]
