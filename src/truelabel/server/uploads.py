"""Uploaded files: a safe name to show, and a copy on disk under a size cap.

The name a client gives a file is only ever shown (import provenance, messages): the copy
on disk has a name made here, keeping only the file's type suffixes (``.jsonl``,
``.csv.gz``), which is how the readers tell the format. A name of any length or content —
past the 255 bytes a file system allows, with slashes, control characters or none — is
fine.
"""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from pathlib import Path
from typing import IO

from truelabel.domain.errors import InvalidInput

#: Longest name kept for display (characters); longer names are shortened in the middle.
MAX_NAME = 200
_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,12}")
_CHUNK = 1 << 20


def display_name(filename: str | None, default: str) -> str:
    """The file's own name without folders or control characters, at most
    :data:`MAX_NAME` characters (the start and the suffixes kept), else ``default``."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip()
    if not name or name in (".", ".."):
        return default
    if len(name) > MAX_NAME:
        tail = type_suffix(name)[-40:]
        name = name[: MAX_NAME - len(tail) - 1] + "…" + tail
    return name


def type_suffix(name: str) -> str:
    """The last (up to three) plain suffixes of ``name``: ``"a b.v2.jsonl.gz"`` →
    ``".v2.jsonl.gz"``; ``""`` when it has none."""
    suffixes = Path(name).suffixes[-3:]
    while suffixes and not all(_SUFFIX.fullmatch(s) for s in suffixes):
        suffixes = suffixes[1:]
    return "".join(suffixes)


def save_upload(
    src: IO[bytes], name: str, *, prefix: str, limit: int, what: str
) -> tuple[str, int]:
    """Copy ``src`` to a new temporary file (removed again on any error) and return its path
    and size.

    Raises:
        InvalidInput: more than ``limit`` bytes (``what`` says which limit and what to do).
    """
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=type_suffix(name))
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := src.read(_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise InvalidInput(what)
                out.write(chunk)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return tmp, size
