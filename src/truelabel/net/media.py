"""What a stored file is, judged from its bytes, and whether a browser may show it inline.

The declared Content-Type and the file name are never trusted (a PNG/HTML polyglot named
``.html``, an HTML page sent as ``image/png``): the type comes from magic bytes, and only
passive formats (raster images, audio, video) are ``inline``. SVG is recognised (so an
``<img>`` can show it) but always served as an attachment; everything else is
``application/octet-stream`` and an attachment.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MediaType:
    content_type: str
    extension: str
    inline: bool  # passive content that cannot run script


OCTET = MediaType("application/octet-stream", "bin", False)
SVG = MediaType("image/svg+xml", "svg", False)

# (offset, magic, type). Order matters only where magics overlap (none here).
_MAGIC: tuple[tuple[int, bytes, MediaType], ...] = (
    (0, b"\x89PNG\r\n\x1a\n", MediaType("image/png", "png", True)),
    (0, b"\xff\xd8\xff", MediaType("image/jpeg", "jpg", True)),
    (0, b"GIF87a", MediaType("image/gif", "gif", True)),
    (0, b"GIF89a", MediaType("image/gif", "gif", True)),
    (0, b"BM", MediaType("image/bmp", "bmp", True)),
    (0, b"fLaC", MediaType("audio/flac", "flac", True)),
    (0, b"OggS", MediaType("audio/ogg", "ogg", True)),
    (0, b"ID3", MediaType("audio/mpeg", "mp3", True)),
    (0, b"\x1a\x45\xdf\xa3", MediaType("video/webm", "webm", True)),
)
_RIFF = {
    b"WEBP": MediaType("image/webp", "webp", True),
    b"WAVE": MediaType("audio/wav", "wav", True),
}
_FTYP_IMAGE = {b"avif": MediaType("image/avif", "avif", True)}
_MP4 = MediaType("video/mp4", "mp4", True)


def media_type(head: bytes) -> MediaType:
    """The type of a file from its first bytes (512 are enough)."""
    for offset, magic, mt in _MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return mt
    if head[:4] == b"RIFF" and head[8:12] in _RIFF:
        return _RIFF[head[8:12]]
    if head[4:8] == b"ftyp":
        return _FTYP_IMAGE.get(head[8:12], _MP4)
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06:
        return MediaType("audio/mpeg", "mp3", True)  # MPEG audio frame sync, layer I-III
    if _looks_like_svg(head):
        return SVG
    return OCTET


def _looks_like_svg(head: bytes) -> bool:
    text = head[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return text.startswith(b"<") and b"<svg" in text
