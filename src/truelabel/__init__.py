"""truelabel: turn raw data into AI training data a team can trust.

The public API is :class:`Project` and :class:`Workspace`; see docs/architecture.md.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["LabelSchema", "Project", "Workspace", "__version__"]


def __getattr__(name: str) -> Any:
    # Imported lazily so ``import truelabel`` does no work at import time.
    if name in ("Project", "Workspace"):
        from truelabel import core

        return getattr(core, name)
    if name == "LabelSchema":
        from truelabel.domain.schema import LabelSchema

        return LabelSchema
    raise AttributeError(f"module 'truelabel' has no attribute {name!r}")
