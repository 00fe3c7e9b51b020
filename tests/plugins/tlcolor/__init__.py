"""A field kind plug-in that lives only in the tests: a colour written ``#rrggbb``.

Everything truelabel needs of it is here and in ``static/color.js``; the entry points in
``../tlcolor-0.1.dist-info/entry_points.txt`` register it. docs/field-kinds.md walks
through it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field

from truelabel.domain.fields import FieldSpec

#: The folder served at /plugins/tlcolor/ (entry point group ``truelabel.static``).
STATIC = Path(__file__).parent / "static"

_HEX = re.compile(r"#[0-9a-fA-F]{6}")


class ColorField(FieldSpec):
    """A colour, ``#rrggbb``; optionally one of a palette."""

    type_name: ClassVar[str] = "color"
    kind: ClassVar[str] = "tlcolor.color.v1"
    summary: ClassVar[str] = "a colour, #rrggbb"
    categorical: ClassVar[bool] = True
    agreement: ClassVar[tuple[str, ...]] = ("truelabel.krippendorff.v1",)
    aggregators: ClassVar[tuple[str, ...]] = ("truelabel.vote.v1",)
    ui_element: ClassVar[str] = "tl-color"
    ui_module: ClassVar[str] = "/plugins/tlcolor/color.js"

    type: Literal["color"] = "color"
    palette: list[str] | None = Field(default=None, min_length=1)

    def validate_value(self, value: Any, item: dict[str, Any] | None = None) -> Any:
        if not isinstance(value, str) or not _HEX.fullmatch(value):
            raise self.fail(f"expected a colour written #rrggbb, like '#ff8800', got {value!r}")
        value = value.lower()
        if self.palette is not None and value not in {c.lower() for c in self.palette}:
            raise self.fail(f"{value} is not in the palette; choose one of {self.palette}")
        return value

    def arrow_type(self) -> Any:
        import pyarrow as pa

        return pa.struct([("r", pa.uint8()), ("g", pa.uint8()), ("b", pa.uint8())])

    def to_arrow(self, value: Any) -> Any:
        return {"r": int(value[1:3], 16), "g": int(value[3:5], 16), "b": int(value[5:7], 16)}
