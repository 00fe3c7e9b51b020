"""The crowd benchmark data sets the quality tests use (tests/data/crowd, gzip-compressed).

``TRUELABEL_CROWD_DIR`` points at another copy (plain or ``.gz`` files, same layout) instead.
"""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

#: The copy kept in the repository (see tests/data/crowd/README.md for sources and licences).
BUNDLED = Path(__file__).resolve().parent / "data" / "crowd"
CROWD = Path(os.environ.get("TRUELABEL_CROWD_DIR") or BUNDLED)


def crowd_file(name: str, filename: str, root: Path = CROWD) -> Path:
    """The path of ``root/name/filename``, plain if present, else its ``.gz``."""
    plain = root / name / filename
    return plain if plain.is_file() else plain.with_name(filename + ".gz")


def read_text(name: str, filename: str, root: Path = CROWD) -> str:
    """The text of one data file, decompressed when it is stored as ``.gz``."""
    path = crowd_file(name, filename, root)
    if path.suffix == ".gz":
        return gzip.decompress(path.read_bytes()).decode("utf-8")
    return path.read_text("utf-8")


def unpack(name: str, dest: Path, root: Path = CROWD) -> Path:
    """A folder holding data set ``name`` as plain files (for commands that read paths):
    ``root/name`` itself when it is plain, else a copy decompressed into ``dest/name``."""
    src = root / name
    if not any(p.suffix == ".gz" for p in src.iterdir()):
        return src
    out = dest / name
    out.mkdir(parents=True, exist_ok=True)
    for path in src.iterdir():
        target = out / path.name.removesuffix(".gz")
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as fh, target.open("wb") as dst:
                shutil.copyfileobj(fh, dst)
        else:
            shutil.copyfile(path, target)
    return out
