"""Content-addressed blob store on fsspec: a local folder by default, S3 and others by URL."""

from __future__ import annotations

import hashlib
import posixpath
import re
import uuid

import fsspec

from truelabel.domain.errors import InvalidInput, NotFound

_DIGEST = re.compile(r"^[0-9a-f]{64}$")


class BlobStore:
    """Stores bytes under their SHA-256. Writes are atomic: a temp name, then a rename."""

    def __init__(self, url: str, **storage_options: object) -> None:
        self.fs, root = fsspec.core.url_to_fs(url, **storage_options)
        self.root = root.rstrip("/")
        self.url = url

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
        self.fs.makedirs(posixpath.dirname(path), exist_ok=True)
        tmp = f"{path}.{uuid.uuid4().hex}.tmp"
        with self.fs.open(tmp, "wb") as fh:
            fh.write(data)
        self.fs.mv(tmp, path)
        return digest

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
