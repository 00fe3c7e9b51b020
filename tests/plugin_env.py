"""Put the test-only plug-ins of tests/plugins on the path, as if pip had installed them."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from truelabel.plugins import registry

PLUGINS = Path(__file__).parent / "plugins"


@contextmanager
def installed(dist: str) -> Iterator[None]:
    """``tests/plugins`` on ``sys.path`` (its ``*.dist-info`` folders make importlib.metadata
    find the entry points), the registry re-read; undone afterwards."""
    sys.path.insert(0, str(PLUGINS))
    importlib.invalidate_caches()
    registry.refresh()
    try:
        yield
    finally:
        registry.forget(origin=dist)
        sys.path.remove(str(PLUGINS))
        for mod in [m for m in sys.modules if m == dist or m.startswith(dist + ".")]:
            del sys.modules[mod]
        importlib.invalidate_caches()
