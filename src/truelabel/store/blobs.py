"""Content-addressed blob store on fsspec: a local folder by default, S3 and others by URL.

In a local folder, blob files are private to their owner (0600, folders 0700); on S3 and
other stores, access is the bucket's policy.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
import uuid
from pathlib import Path
from typing import IO

import fsspec

from truelabel.domain.errors import DigestMismatch, InvalidInput, NotFound

_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1 << 20


class BlobStore:
    """Stores bytes under their SHA-256. Writes are atomic: a temp name, then a rename."""

    def __init__(self, url: str, **storage_options: object) -> None:
        self.fs, root = fsspec.core.url_to_fs(url, **storage_options)
        self.root = root.rstrip("/")
        self.url = url
        self.local = "file" in _protocols(self.fs)

    def _path(self, digest: str) -> str:
        if not _DIGEST.match(digest):
            raise InvalidInput(f"{digest!r} is not a blob id (64 lowercase hex characters).")
        return posixpath.join(self.root, digest[:2], digest[2:4], digest)

    def put(self, data: bytes) -> str:
        """Store ``data``; return its id (hex SHA-256). Storing the same bytes twice is a no-op."""
        digest = hashlib.sha256(data).hexdigest()
        path = self._path(digest)
        if self.fs.exists(path):
            return digest
        tmp = f"{path}.{uuid.uuid4().hex}.tmp"
        if self.local:
            self._private_dirs(posixpath.dirname(path))
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
        else:
            self.fs.makedirs(posixpath.dirname(path), exist_ok=True)
            with self.fs.open(tmp, "wb") as fh:
                fh.write(data)
        self.fs.mv(tmp, path)
        return digest

    def put_stream(self, fh: IO[bytes], *, expect: str) -> str:
        """Store the bytes read from ``fh`` (in 1 MiB chunks, never whole) as blob ``expect``.

        The hash is checked while copying; on a mismatch nothing is stored and
        :class:`DigestMismatch` is raised. If the blob is already there, ``fh`` is only hashed.
        """
        path = self._path(expect)
        h = hashlib.sha256()
        if self.fs.exists(path):
            while chunk := fh.read(_CHUNK):
                h.update(chunk)
            if h.hexdigest() != expect:
                raise DigestMismatch(f"The bytes given for blob {expect} hash to {h.hexdigest()}.")
            return expect
        tmp = f"{path}.{uuid.uuid4().hex}.tmp"
        if self.local:
            self._private_dirs(posixpath.dirname(path))
            out: IO[bytes] = os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600),
                                       "wb")
        else:
            self.fs.makedirs(posixpath.dirname(path), exist_ok=True)
            out = self.fs.open(tmp, "wb")
        try:
            with out:
                while chunk := fh.read(_CHUNK):
                    h.update(chunk)
                    out.write(chunk)
            if h.hexdigest() != expect:
                raise DigestMismatch(f"The bytes given for blob {expect} hash to {h.hexdigest()}.")
            self.fs.mv(tmp, path)
        except BaseException:
            if self.fs.exists(tmp):
                self.fs.rm(tmp)
            raise
        return expect

    def delete(self, digest: str) -> None:
        """Remove a blob (restore undoing its own writes); a missing blob is no error."""
        path = self._path(digest)
        if self.fs.exists(path):
            self.fs.rm(path)

    def _private_dirs(self, folder: str) -> None:
        """Make ``folder`` (root/ab/cd) and the levels under the root, owner-only (0700)."""
        parts = [folder, posixpath.dirname(folder), self.root]
        for p in reversed(parts):
            try:
                os.mkdir(p, 0o700)
            except FileExistsError:
                pass
            except FileNotFoundError:
                os.makedirs(p, 0o700, exist_ok=True)

    def get(self, digest: str) -> bytes:
        path = self._path(digest)
        try:
            with self.fs.open(path, "rb") as fh:
                data: bytes = fh.read()
        except FileNotFoundError:
            raise NotFound(f"No blob {digest} in {self.url}.") from None
        return data

    def exists(self, digest: str) -> bool:
        return bool(self.fs.exists(self._path(digest)))

    def local_root(self) -> Path | None:
        """The blob folder when blobs are on the local disk, else None."""
        return Path(self.root) if self.local else None


def _protocols(fs: fsspec.AbstractFileSystem) -> tuple[str, ...]:
    proto = fs.protocol
    return (proto,) if isinstance(proto, str) else tuple(proto)
