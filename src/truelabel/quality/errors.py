"""Errors and warnings raised by the quality engines.

Every error is a :class:`ValueError`, so callers that already guard numeric code with
``except ValueError`` keep working; catch :class:`QualityError` to handle only ours::

    ValueError
     └── QualityError
          ├── InvalidInput          shapes, lengths, unknown options, malformed spans
          │    └── UnknownLabel     a label outside the declared classes
          ├── DuplicateRatings      one annotator rated one unit more than once
          └── NotEnoughData         too few units, ratings or annotators to compute
               └── NoVariation      every rating is the same, so chance agreement is 1

    UserWarning
     └── QualityWarning
          └── ConvergenceWarning    EM stopped at max_iter before reaching tol

Every message says what happened and what to do about it.
"""

from __future__ import annotations

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


class QualityError(ValueError):
    """Base class of every error raised by ``truelabel.quality``."""


class InvalidInput(QualityError):
    """The input has the wrong shape, length, type or option value."""


class UnknownLabel(InvalidInput):
    """A label does not belong to the classes the caller declared."""


class DuplicateRatings(QualityError):
    """An annotator rated the same unit more than once where one rating is required."""


class NotEnoughData(QualityError):
    """There is too little overlapping data for the statistic to be defined."""


class NoVariation(NotEnoughData):
    """All pairable values are identical, so chance-corrected agreement is undefined."""


class QualityWarning(UserWarning):
    """Base class of warnings issued by ``truelabel.quality``."""


class ConvergenceWarning(QualityWarning):
    """An iterative estimator stopped at its iteration limit before converging."""
