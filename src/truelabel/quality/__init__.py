"""Quality engines: agreement, span agreement, bootstrap intervals and label aggregation.

Pure functions over NumPy arrays and plain Python sequences; nothing here opens a file or a
database. Start from long-format labels::

    from truelabel.quality import encode_ratings, krippendorff_alpha, dawid_skene

    ratings = encode_ratings(items, annotators, labels)
    alpha = krippendorff_alpha(ratings.drop_duplicates(), level="nominal")
    truth = dawid_skene(ratings)            # truth.labels, truth.confidence, truth.confusion

See ``docs/quality.md`` for the methods, their exact definitions and benchmark figures.
"""

from .aggregate import (
    AggregationResult,
    GoldScores,
    gold_accuracy,
    majority_vote,
    weighted_vote,
)
from .agreement import (
    AlphaParts,
    alpha_parts,
    cohen_kappa,
    fleiss_kappa,
    in_order,
    krippendorff_alpha,
    krippendorff_alpha_from_counts,
    percent_agreement,
)
from .bootstrap import BootstrapResult, bootstrap_ci, krippendorff_alpha_ci
from .breakdown import (
    AgreementScore,
    PairAgreement,
    pairwise_agreement,
    per_label_agreement,
    slice_agreement,
)
from .calibration import calibrate, expected_calibration_error, reliability_bins
from .dawid_skene import dawid_skene
from .encode import (
    Ratings,
    ReliabilityMatrix,
    encode_coded,
    encode_labels,
    encode_ratings,
    reliability_matrix,
)
from .errors import (
    ConvergenceWarning,
    DuplicateRatings,
    InvalidInput,
    NotEnoughData,
    NoVariation,
    QualityError,
    QualityWarning,
    UnknownLabel,
)
from .glad import glad
from .mace import mace
from .span_aggregate import AggregatedSpan, aggregate_spans
from .spans import (
    SpanAgreement,
    SpanF1,
    UnitizingAlpha,
    UnitizingLabelAlpha,
    span_f1,
    unitizing_alpha,
)

__all__ = [
    "AggregatedSpan",
    "AggregationResult",
    "AgreementScore",
    "AlphaParts",
    "BootstrapResult",
    "ConvergenceWarning",
    "DuplicateRatings",
    "GoldScores",
    "InvalidInput",
    "NoVariation",
    "NotEnoughData",
    "PairAgreement",
    "QualityError",
    "QualityWarning",
    "Ratings",
    "ReliabilityMatrix",
    "SpanAgreement",
    "SpanF1",
    "UnitizingAlpha",
    "UnitizingLabelAlpha",
    "UnknownLabel",
    "aggregate_spans",
    "alpha_parts",
    "bootstrap_ci",
    "calibrate",
    "cohen_kappa",
    "dawid_skene",
    "encode_coded",
    "encode_labels",
    "encode_ratings",
    "expected_calibration_error",
    "fleiss_kappa",
    "glad",
    "gold_accuracy",
    "in_order",
    "krippendorff_alpha",
    "krippendorff_alpha_ci",
    "krippendorff_alpha_from_counts",
    "mace",
    "majority_vote",
    "pairwise_agreement",
    "per_label_agreement",
    "percent_agreement",
    "reliability_bins",
    "reliability_matrix",
    "slice_agreement",
    "span_f1",
    "unitizing_alpha",
    "weighted_vote",
]
