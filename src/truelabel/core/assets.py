"""Plug-ins' static assets (a field kind's ES module, its stylesheet): which file a URL names.

A plug-in registers a folder in the ``static`` slot (entry-point group ``truelabel.static``,
value a ``"module:attr"`` naming a path); the server serves it at ``/plugins/<name>/<path>``
from the same origin, so the CSP (``script-src 'self'``) lets a page import it.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from truelabel.domain.errors import NotFound
from truelabel.domain.plugins import registry

#: What a plug-in folder may serve, by suffix: the media type it is served with.
ASSET_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".woff2": "font/woff2",
}


def plugin_asset(name: str, path: str) -> tuple[Path, str]:
    """The file ``path`` in plug-in ``name``'s static folder and its media type.

    Anything that is not a plain relative path to a file of an allowed type inside the
    folder (``..``, an absolute path, a hidden file, a link out of the folder) is
    :class:`NotFound`, the same answer as a missing file.
    """
    missing = NotFound(
        f"No plug-in asset {name}/{path}. Check the plug-in name and path "
        "(GET /api/field-kinds lists each kind's module URL)."
    )
    if name not in registry.static.names():
        raise missing
    parts = PurePosixPath(path).parts
    if (not parts or "\\" in path or "\x00" in path or PurePosixPath(path).is_absolute()
            or any(p in ("..", ".") or p.startswith(".") for p in parts)):
        raise missing
    media = ASSET_TYPES.get(PurePosixPath(path).suffix.lower())
    if media is None:
        raise missing
    root = Path(registry.static.get(name)).resolve()
    target = root.joinpath(*parts).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        raise missing
    return target, media
