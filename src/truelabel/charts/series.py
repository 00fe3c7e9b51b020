"""SVG primitives for counts over time: vertical columns and a rows × columns heatmap.

Same conventions as :mod:`truelabel.charts.svg`: pure functions, every text escaped and only in
text nodes, a ``<title>``/``<desc>`` for screen readers, light and dark styles.
"""

from __future__ import annotations

from collections.abc import Sequence

from .svg import CHAR_W, _document, _empty, _mix, _num, _ticks, text

__all__ = ["columns", "heatmap"]


def _title_width(title: str) -> float:
    """Room for a chart's title (14px, semibold) from x = 12, up to the 90 characters shown."""
    return 24 + min(len(title), 90) * CHAR_W * 1.2


def columns(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    axis: str = "",
    unit: str = "",
    plot_height: int = 160,
    min_width: int = 320,
    label_every: int | None = None,
    empty: str = "Nothing to show yet.",
) -> str:
    """Vertical columns, one per label (e.g. a day), from zero; ticks on the value axis.

    ``label_every``: write every n-th label under the axis (default: as many as fit).
    """
    if not labels:
        return _empty(title, empty)
    if len(values) != len(labels):
        raise ValueError("columns needs one value per label")
    n = len(labels)
    longest = max(len(s) for s in labels)
    col = max(6.0, min(36.0, 640 / n))
    if label_every == 1:  # every label written: make room for it
        col = max(col, min(longest, 12) * CHAR_W * 0.9 + 8)
    left, top = 56.0, 40.0
    width = max(float(min_width), left + n * col + 20, _title_width(title))
    bottom = top + plot_height
    height = bottom + 52
    hi = max([0.0, *(float(v) for v in values)])
    ticks = _ticks(0.0, hi if hi > 0 else 1.0)
    top_value = max(ticks[-1], hi, 1e-9)

    def y(v: float) -> float:
        return bottom - v / top_value * plot_height

    every = label_every or max(1, round(longest * CHAR_W * 0.9 / col + 0.49))
    out = [f'<text class="t" x="12" y="22">{text(title, 90)}</text>']
    for t in ticks:
        out.append(
            f'<line class="ax" x1="{_num(left)}" y1="{_num(y(t))}" x2="{_num(left + n * col)}" '
            f'y2="{_num(y(t))}"/><text class="m s" x="{_num(left - 6)}" y="{_num(y(t) + 4)}" '
            f'text-anchor="end">{_num(t)}</text>'
        )
    described = []
    for k, (lab, v) in enumerate(zip(labels, values, strict=True)):
        x = left + k * col
        tip = f"{lab}: {_num(float(v))}{unit}"
        described.append(tip)
        h = max(bottom - y(float(v)), 0.0)
        out.append(
            f'<g><title>{text(tip)}</title><rect class="bar" x="{_num(x + col * 0.12)}" '
            f'y="{_num(bottom - h)}" width="{_num(col * 0.76)}" height="{_num(h)}"/></g>'
        )
        if k % every == 0:
            out.append(
                f'<text class="m s" x="{_num(x + col / 2)}" y="{_num(bottom + 14)}" '
                f'text-anchor="middle">{text(lab, 12)}</text>'
            )
    out.append(
        f'<line class="zero" x1="{_num(left)}" y1="{_num(bottom)}" x2="{_num(left + n * col)}" '
        f'y2="{_num(bottom)}"/>'
    )
    if axis:
        out.append(
            f'<text class="m s" x="{_num(left + n * col / 2)}" y="{_num(bottom + 34)}" '
            f'text-anchor="middle">{text(axis)}</text>'
        )
    return _document(width, height, title, "; ".join(described), out)


def heatmap(
    rows: Sequence[str],
    cols: Sequence[str],
    matrix: Sequence[Sequence[float]],
    *,
    title: str,
    cell: int = 26,
    label_chars: int = 22,
    col_every: int = 1,
    empty: str = "Nothing to show yet.",
) -> str:
    """A count per (row, column) as colour and number; colour is the share of the largest
    count, so the busiest cell is darkest. Columns are labelled every ``col_every``."""
    if not rows or not cols:
        return _empty(title, empty)
    if len(matrix) != len(rows) or any(len(r) != len(cols) for r in matrix):
        raise ValueError(f"matrix must be {len(rows)}×{len(cols)} to match the labels")
    longest = max(len(str(r)[:label_chars]) for r in rows)
    left = 16 + max(50.0, longest * CHAR_W + 10)
    top = 70.0
    width = max(left + len(cols) * cell + 16, _title_width(title))
    height = top + len(rows) * cell + 16
    peak = max([1.0, *(float(v) for r in matrix for v in r)])
    out = [f'<text class="t" x="12" y="22">{text(title, 90)}</text>']
    for j, c in enumerate(cols):
        if j % col_every:
            continue
        x = left + j * cell + cell / 2
        out.append(
            f'<text class="m s" x="{_num(x)}" y="{_num(top - 8)}" '
            f'transform="rotate(-45 {_num(x)} {_num(top - 8)})">{text(c, 12)}</text>'
        )
    described = []
    for i, name in enumerate(rows):
        y0 = top + i * cell
        out.append(
            f'<text x="{_num(left - 8)}" y="{_num(y0 + cell / 2 + 4)}" text-anchor="end">'
            f"{text(name, label_chars)}</text>"
        )
        total = 0.0
        for j, c in enumerate(cols):
            v = float(matrix[i][j])
            total += v
            share = v / peak
            x = left + j * cell
            on = ' class="on"' if share > 0.55 else ""
            label = (
                f'<text x="{_num(x + cell / 2)}" y="{_num(y0 + cell / 2 + 4)}" '
                f'text-anchor="middle"{on}>{_num(v)}</text>' if v else ""
            )
            out.append(
                f"<g><title>{text(f'{name}, {c}: {_num(v)}')}</title>"
                f'<rect class="cell" x="{_num(x)}" y="{_num(y0)}" width="{cell}" '
                f'height="{cell}" fill="{_mix(share)}"/>{label}</g>'
            )
        described.append(f"{name}: {_num(total)}")
    return _document(width, height, title, "; ".join(described), out)
