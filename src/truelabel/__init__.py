"""truelabel: turn raw data into AI training data a team can trust.

The public API, for a script or a notebook::

    from truelabel import Workspace
    ws = Workspace.open("support-tickets")
    project = ws.project("support")

:class:`Workspace` (users, tokens, projects) and :class:`Project` (items, the annotators'
loop, review, quality, ground truth, export) are the facade; :class:`LabelSchema` describes
the fields; :class:`User`, :class:`Role`, :class:`Task`, :class:`Annotation` are what they
take and return; :mod:`truelabel.errors` holds every error raised on purpose
(:class:`TruelabelError` is their base); :mod:`truelabel.plugins` is the plug-in registry
(field kinds, readers, writers, agreement measures, aggregators…); :mod:`truelabel.quality`
is the agreement and aggregation library on its own. See docs/architecture.md.

Every name is resolved lazily, so ``import truelabel`` does no work at import time.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"
__all__ = [
    "Annotation",
    "LabelSchema",
    "Project",
    "Role",
    "Task",
    "TruelabelError",
    "User",
    "Workspace",
    "__version__",
    "errors",
    "plugins",
    "quality",
]

#: name -> (module, attribute); attribute None: the module itself
_LAZY: dict[str, tuple[str, str | None]] = {
    "Annotation": ("truelabel.domain.models", "Annotation"),
    "LabelSchema": ("truelabel.domain.schema", "LabelSchema"),
    "Project": ("truelabel.core", "Project"),
    "Role": ("truelabel.domain.roles", "Role"),
    "Task": ("truelabel.domain.models", "Task"),
    "TruelabelError": ("truelabel.errors", "TruelabelError"),
    "User": ("truelabel.domain.models", "User"),
    "Workspace": ("truelabel.core", "Workspace"),
    "errors": ("truelabel.errors", None),
    "plugins": ("truelabel.plugins", None),
    "quality": ("truelabel.quality", None),
}


def __getattr__(name: str) -> Any:
    # Imported on first use so ``import truelabel`` does no work at import time.
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'truelabel' has no attribute {name!r}") from None
    found = importlib.import_module(module)
    return found if attr is None else getattr(found, attr)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
