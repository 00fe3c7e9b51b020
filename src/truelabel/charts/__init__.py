"""Server-made SVG charts: pure functions from numbers to SVG text (no I/O)."""

from .quality import (
    CHARTS,
    agreement_chart,
    annotator_chart,
    confusion_chart,
    per_label_chart,
    report_chart,
)
from .series import columns, heatmap
from .svg import Bar, bars, confusion_matrix
from .team import TEAM_CHARTS, team_chart

__all__ = [
    "CHARTS",
    "TEAM_CHARTS",
    "Bar",
    "agreement_chart",
    "annotator_chart",
    "bars",
    "columns",
    "confusion_chart",
    "confusion_matrix",
    "heatmap",
    "per_label_chart",
    "report_chart",
    "team_chart",
]
