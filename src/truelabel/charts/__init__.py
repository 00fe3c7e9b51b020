"""Server-made SVG charts: pure functions from numbers to SVG text (no I/O)."""

from .quality import (
    CHARTS,
    agreement_chart,
    annotator_chart,
    confusion_chart,
    per_label_chart,
    report_chart,
)
from .svg import Bar, bars, confusion_matrix

__all__ = [
    "CHARTS",
    "Bar",
    "agreement_chart",
    "annotator_chart",
    "bars",
    "confusion_chart",
    "confusion_matrix",
    "per_label_chart",
    "report_chart",
]
