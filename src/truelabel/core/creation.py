"""Making a workspace folder all or nothing, and a project's name from its schema's title.

``truelabel init`` makes a folder, a database in it and (with ``--schema``) the first
project. Any failure on the way (a bad schema, guidelines, name or overlap, a database
error) must leave nothing behind, so a retry starts clean: :func:`all_or_nothing` removes
what was made when its block raises.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def all_or_nothing(folder: Path, files: tuple[str, ...], subfolders: tuple[str, ...]
                   ) -> Iterator[None]:
    """Run the block that fills ``folder``; when it raises, remove what it made: the
    outermost folder it created (with ``folder`` inside), else the ``files`` and the
    ``subfolders`` that did not exist before."""
    made = folder  # the outermost folder that does not exist yet
    while not made.parent.exists():
        made = made.parent
    new_folder = not folder.exists()
    new_subfolders = [folder / s for s in subfolders if not (folder / s).exists()]
    try:
        yield
    except BaseException:
        if new_folder:
            shutil.rmtree(made, ignore_errors=True)
        else:
            for name in files:
                (folder / name).unlink(missing_ok=True)
            for sub in new_subfolders:
                shutil.rmtree(sub, ignore_errors=True)
        raise


def name_from_title(title: str, default: str) -> str:
    """A project name made from a schema's ``title`` ("Support tickets" →
    ``support-tickets``), else ``default``."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", title.strip()).strip("-.").lower()[:100]
    return name or default
