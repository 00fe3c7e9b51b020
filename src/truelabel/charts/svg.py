"""SVG primitives: a confusion-matrix heatmap and horizontal bars with interval whiskers.

Pure functions: numbers and labels in, one SVG document (text) out. Every piece of text is
escaped (``xml.sax.saxutils.escape``) and stripped of characters XML cannot hold, and user text
only ever goes into text nodes, never into attributes. Each chart has a ``<title>`` and a
``<desc>`` and ``role="img"``, so a screen reader announces what it shows.

The charts style themselves with one inline ``<style>`` (light and dark), so they look right as
``<img>`` in the dashboard and embedded in a standalone HTML report alike.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

__all__ = ["Bar", "bars", "confusion_matrix", "text"]

# Characters XML 1.0 does not allow (C0 controls except tab/newline/CR, surrogates, U+FFFE/F).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif"
STYLE = (
    "<style>"
    f"text{{font-family:{FONT};font-size:12px;fill:#1b1f24}}"
    ".t{font-size:14px;font-weight:600}.m{fill:#5c6670}.s{font-size:11px}"
    ".bg{fill:#ffffff}.ax{stroke:#d9dee4;stroke-width:1}.zero{stroke:#5c6670;stroke-width:1}"
    ".bar{fill:#2f5bd3}.bar.hi{fill:#b42318}.wh{stroke:#1b1f24;stroke-width:1.5}"
    ".cell{stroke:#ffffff;stroke-width:1}.on{fill:#ffffff}.diag{stroke:#1b1f24;stroke-width:2;"
    "fill:none}"
    "@media (prefers-color-scheme: dark){"
    "text{fill:#e6e9ed}.m{fill:#9aa4ae}.bg{fill:#1a1f25}.ax{stroke:#2f3740}"
    ".zero{stroke:#9aa4ae}.bar{fill:#7aa2ff}.bar.hi{fill:#ff8a80}.wh{stroke:#e6e9ed}"
    ".cell{stroke:#1a1f25}.on{fill:#0b1020}.diag{stroke:#e6e9ed}}"
    "</style>"
)
CHAR_W = 6.6  # rough width of one 12px character, for layout only


def text(s: object, limit: int | None = None) -> str:
    """``s`` as safe XML character data, shortened to ``limit`` characters with an ellipsis."""
    raw = _NOT_XML.sub("\ufffd", str(s))
    if limit is not None and len(raw) > limit:
        raw = raw[: max(limit - 1, 1)] + "…"
    return escape(raw)


def _num(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".") if math.isfinite(x) else "0"


def _fmt(v: float | None, digits: int = 2) -> str:
    return "–" if v is None or not math.isfinite(v) else f"{v:.{digits}f}"


def _document(width: float, height: float, title: str, desc: str, body: list[str]) -> str:
    w, hgt = _num(width), _num(height)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{hgt}" '
        f'viewBox="0 0 {w} {hgt}" role="img" aria-labelledby="chart-title chart-desc">'
        f'<title id="chart-title">{text(title)}</title><desc id="chart-desc">{text(desc)}</desc>'
        f"{STYLE}"
        f'<rect class="bg" x="0" y="0" width="{w}" height="{hgt}"/>'
        + "".join(body)
        + "</svg>"
    )


def _empty(title: str, message: str, width: float = 420) -> str:
    body = [
        f'<text class="t" x="12" y="22">{text(title, 80)}</text>',
        f'<text class="m" x="12" y="48">{text(message, 80)}</text>',
    ]
    return _document(width, 64, title, message, body)


# -- confusion matrix ------------------------------------------------------------------------
def _mix(share: float) -> str:
    """A blue from near-white (0) to the accent colour (1)."""
    share = min(max(share, 0.0), 1.0)
    lo, hi = (240, 244, 252), (47, 91, 211)
    r, g, b = (round(a + (c - a) * share) for a, c in zip(lo, hi, strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def confusion_matrix(
    labels: Sequence[object],
    matrix: Sequence[Sequence[int]],
    *,
    title: str,
    row_axis: str = "Aggregated label",
    col_axis: str = "Annotator label",
    cell: int = 46,
    label_chars: int = 22,
) -> str:
    """A heatmap with the count in every cell. Rows: ``row_axis``; columns: ``col_axis``.

    Colour is each cell's share of its row, so a good annotator pool shows a dark diagonal
    whatever the class balance. The diagonal is outlined.
    """
    n = len(labels)
    if n == 0:
        return _empty(title, "No labels to compare yet.")
    if len(matrix) != n or any(len(row) != n for row in matrix):
        raise ValueError(f"matrix must be {n}×{n} to match the labels")
    names = [text(lab, label_chars) for lab in labels]
    longest = max(len(str(lab)[:label_chars]) for lab in labels)
    left = 28 + max(60.0, longest * CHAR_W + 12)
    top = 46 + max(40.0, longest * CHAR_W * 0.72 + 16)
    width = left + n * cell + 16
    height = top + n * cell + 16
    total = sum(sum(int(v) for v in row) for row in matrix)
    agree = sum(int(matrix[i][i]) for i in range(n))
    desc = (
        f"{row_axis} in rows against {col_axis} in columns, {total} labels; "
        f"{agree} on the diagonal."
    )
    out = [f'<text class="t" x="12" y="22">{text(title, 90)}</text>']
    out.append(
        f'<text class="m s" x="{_num(left + n * cell / 2)}" y="40" text-anchor="middle">'
        f"{text(col_axis)} →</text>"
    )
    ymid = top + n * cell / 2
    out.append(
        f'<text class="m s" x="14" y="{_num(ymid)}" text-anchor="middle" '
        f'transform="rotate(-90 14 {_num(ymid)})">{text(row_axis)} →</text>'
    )
    for j, name in enumerate(names):
        x = left + j * cell + cell / 2
        out.append(
            f'<text x="{_num(x)}" y="{_num(top - 8)}" '
            f'transform="rotate(-40 {_num(x)} {_num(top - 8)})">{name}</text>'
        )
    for i, name in enumerate(names):
        y = top + i * cell + cell / 2 + 4
        out.append(f'<text x="{_num(left - 8)}" y="{_num(y)}" text-anchor="end">{name}</text>')
        row_total = sum(int(v) for v in matrix[i])
        for j in range(n):
            v = int(matrix[i][j])
            share = v / row_total if row_total else 0.0
            x, y0 = left + j * cell, top + i * cell
            tip = f"{labels[i]} → {labels[j]}: {v}"
            on = ' class="on"' if share > 0.55 else ""
            out.append(
                f'<g><title>{text(tip)}</title><rect class="cell" x="{_num(x)}" y="{_num(y0)}" '
                f'width="{cell}" height="{cell}" fill="{_mix(share)}"/>'
                f'<text x="{_num(x + cell / 2)}" y="{_num(y0 + cell / 2 + 4)}" '
                f'text-anchor="middle"{on}>{v}</text></g>'
            )
    for i in range(n):
        out.append(
            f'<rect class="diag" x="{_num(left + i * cell + 1)}" y="{_num(top + i * cell + 1)}" '
            f'width="{cell - 2}" height="{cell - 2}"/>'
        )
    return _document(width, height, title, desc, out)


# -- horizontal bars -------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Bar:
    """One bar: ``value`` with an optional interval ``[low, high]`` and a note after it."""

    label: str
    value: float | None
    low: float | None = None
    high: float | None = None
    note: str = ""
    highlight: bool = False


def bars(
    rows: Sequence[Bar],
    *,
    title: str,
    axis: str = "",
    domain: tuple[float, float] = (0.0, 1.0),
    plot_width: int = 320,
    row_height: int = 26,
    label_chars: int = 24,
    empty: str = "Nothing to show yet.",
) -> str:
    """Horizontal bars from zero with interval whiskers; ``highlight`` bars are red.

    ``domain`` is widened to hold every value and interval end (and zero).
    """
    if not rows:
        return _empty(title, empty)
    finite = [
        v for r in rows for v in (r.value, r.low, r.high) if v is not None and math.isfinite(v)
    ]
    lo = min([domain[0], 0.0, *finite])
    hi = max([domain[1], 0.0, *finite])
    if hi - lo < 1e-9:
        hi = lo + 1.0
    longest = max(len(str(r.label)[:label_chars]) for r in rows)
    left = 16 + max(50.0, longest * CHAR_W + 10)
    top = 44
    width = left + plot_width + 150
    height = top + len(rows) * row_height + 34

    def x(v: float) -> float:
        return left + (v - lo) / (hi - lo) * plot_width

    out = [f'<text class="t" x="12" y="22">{text(title, 90)}</text>']
    bottom = top + len(rows) * row_height
    ticks = _ticks(lo, hi)
    for t in ticks:
        xt = x(t)
        out.append(
            f'<line class="ax" x1="{_num(xt)}" y1="{top - 6}" x2="{_num(xt)}" y2="{_num(bottom)}"/>'
            f'<text class="m s" x="{_num(xt)}" y="{_num(bottom + 14)}" text-anchor="middle">'
            f"{_fmt(t, 1 if all(abs(k * 10 - round(k * 10)) < 1e-9 for k in ticks) else 2)}"
            "</text>"
        )
    if axis:
        out.append(
            f'<text class="m s" x="{_num(left + plot_width / 2)}" y="{_num(bottom + 29)}" '
            f'text-anchor="middle">{text(axis)}</text>'
        )
    x0 = x(0.0)
    described = []
    for k, r in enumerate(rows):
        yc = top + k * row_height + row_height / 2
        out.append(
            f'<text x="{_num(left - 8)}" y="{_num(yc + 4)}" text-anchor="end">'
            f"{text(r.label, label_chars)}</text>"
        )
        tip = f"{r.label}: {_fmt(r.value)}"
        if r.low is not None and r.high is not None:
            tip += f" (interval {_fmt(r.low)} to {_fmt(r.high)})"
        if r.note:
            tip += f", {r.note}"
        described.append(tip)
        parts = [f"<g><title>{text(tip)}</title>"]
        if r.value is not None and math.isfinite(r.value):
            xv = x(r.value)
            parts.append(
                f'<rect class="bar{" hi" if r.highlight else ""}" x="{_num(min(x0, xv))}" '
                f'y="{_num(yc - row_height * 0.32)}" width="{_num(max(abs(xv - x0), 1.0))}" '
                f'height="{_num(row_height * 0.64)}"/>'
            )
        if (
            r.low is not None
            and r.high is not None
            and math.isfinite(r.low)
            and math.isfinite(r.high)
        ):
            a, b = x(r.low), x(r.high)
            parts.append(
                f'<path class="wh" d="M{_num(a)} {_num(yc)}H{_num(b)}M{_num(a)} {_num(yc - 6)}'
                f'V{_num(yc + 6)}M{_num(b)} {_num(yc - 6)}V{_num(yc + 6)}"/>'
            )
        parts.append("</g>")
        out.append("".join(parts))
        label = _fmt(r.value) + (f"  {r.note}" if r.note else "")
        out.append(
            f'<text class="m" x="{_num(left + plot_width + 8)}" y="{_num(yc + 4)}">'
            f"{text(label, 22)}</text>"
        )
    out.append(
        f'<line class="zero" x1="{_num(x0)}" y1="{top - 6}" x2="{_num(x0)}" y2="{_num(bottom)}"/>'
    )
    return _document(width, height, title, "; ".join(described), out)


def _ticks(lo: float, hi: float) -> list[float]:
    span = hi - lo
    step = 10 ** math.floor(math.log10(span / 4)) if span > 0 else 1.0
    for m in (1, 2, 2.5, 5, 10):
        if span / (step * m) <= 6:
            step *= m
            break
    first = math.ceil(lo / step - 1e-9) * step
    out = []
    t = first
    while t <= hi + 1e-9:
        out.append(round(t, 10) + 0.0)
        t += step
    return out
