"""Reliability diagram: accuracy against confidence per bin, raw and calibrated.

A calibrated confidence lies on the diagonal: of the labels given confidence 0.8, 80 % are
right. Each bin is a point at (mean confidence, accuracy); its area grows with the number of
items in the bin. Raw confidences are hollow grey rings, calibrated ones filled accent dots.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from .svg import _document, _empty, _fmt, _num, text

__all__ = ["reliability_diagram"]

_SIDE = 240.0
_LEFT, _TOP = 52.0, 40.0


def _xy(conf: float, acc: float) -> tuple[float, float]:
    return _LEFT + conf * _SIDE, _TOP + (1.0 - acc) * _SIDE


def _points(bins: Sequence[Mapping[str, Any]], cls: str, biggest: int) -> list[str]:
    out = []
    for b in bins:
        c, a, n = b.get("mean_confidence"), b.get("accuracy"), int(b.get("count") or 0)
        if not n or c is None or a is None or not (math.isfinite(c) and math.isfinite(a)):
            continue
        x, y = _xy(float(c), float(a))
        r = 3.0 + 7.0 * math.sqrt(n / biggest)
        out.append(f'<circle class="{cls}" cx="{_num(x)}" cy="{_num(y)}" r="{_num(r)}">'
                   f"<title>{text(f'confidence {_fmt(c)}, accuracy {_fmt(a)}, {n} items')}"
                   "</title></circle>")
    return out


def reliability_diagram(
    raw: Sequence[Mapping[str, Any]], calibrated: Sequence[Mapping[str, Any]], *, title: str,
    ece_raw: float | None = None, ece_calibrated: float | None = None,
    empty: str = "No gold items to measure calibration on yet.",
) -> str:
    """The diagram of two lists of reliability bins (``mean_confidence``, ``accuracy``,
    ``count`` each, as :func:`truelabel.quality.calibration.reliability_bins` gives)."""
    counts = [int(b.get("count") or 0) for b in [*raw, *calibrated]]
    if not any(counts):
        return _empty(title, empty)
    biggest = max(counts)
    width, height = _LEFT + _SIDE + 190.0, _TOP + _SIDE + 44.0
    x0, y0 = _xy(0.0, 0.0)
    x1, y1 = _xy(1.0, 1.0)
    body = [
        "<style>.raw{fill:none;stroke:#8a939c;stroke-width:1.5}.cal{fill:#2f5bd3;"
        "fill-opacity:.75}@media (prefers-color-scheme: dark){.cal{fill:#7aa2ff}}</style>",
        f'<text class="t" x="12" y="22">{text(title, 60)}</text>',
        f'<rect class="ax" x="{_num(x0)}" y="{_num(y1)}" width="{_num(_SIDE)}" '
        f'height="{_num(_SIDE)}" fill="none"/>',
        f'<line class="zero" x1="{_num(x0)}" y1="{_num(y0)}" x2="{_num(x1)}" y2="{_num(y1)}" '
        'stroke-dasharray="4 3"/>',
    ]
    for t in (0.0, 0.5, 1.0):
        x, y = _xy(t, t)
        body.append(f'<text class="m s" x="{_num(x)}" y="{_num(y0 + 14)}" '
                    f'text-anchor="middle">{_fmt(t, 1)}</text>')
        body.append(f'<text class="m s" x="{_num(x0 - 6)}" y="{_num(y + 4)}" '
                    f'text-anchor="end">{_fmt(t, 1)}</text>')
    body.append(f'<text class="m s" x="{_num(_LEFT + _SIDE / 2)}" y="{_num(y0 + 30)}" '
                'text-anchor="middle">confidence</text>')
    body.append(f'<text class="m s" x="14" y="{_num(_TOP + _SIDE / 2)}" text-anchor="middle" '
                f'transform="rotate(-90 14 {_num(_TOP + _SIDE / 2)})">accuracy on gold</text>')
    body += _points(raw, "raw", biggest) + _points(calibrated, "cal", biggest)
    lx = x1 + 16
    body += [
        f'<circle class="raw" cx="{_num(lx + 6)}" cy="{_num(_TOP + 10)}" r="5"/>',
        f'<text x="{_num(lx + 16)}" y="{_num(_TOP + 14)}">raw, ECE {_fmt(ece_raw, 3)}</text>',
        f'<circle class="cal" cx="{_num(lx + 6)}" cy="{_num(_TOP + 32)}" r="5"/>',
        f'<text x="{_num(lx + 16)}" y="{_num(_TOP + 36)}">calibrated, ECE '
        f"{_fmt(ece_calibrated, 3)}</text>",
        f'<text class="m s" x="{_num(lx)}" y="{_num(_TOP + 60)}">'
        "dashed: perfect calibration</text>",
        f'<text class="m s" x="{_num(lx)}" y="{_num(_TOP + 76)}">area: items in the bin</text>',
    ]
    desc = (f"Reliability diagram: accuracy on gold against confidence per bin; ECE raw "
            f"{_fmt(ece_raw, 3)}, calibrated {_fmt(ece_calibrated, 3)}.")
    return _document(width, height, title, desc, body)
