"""Network safety (an L1 engine): fetch user-given URLs without SSRF, serve user files inertly.

Pure code over the standard library and httpx (imported on first fetch); no database.

- :func:`safe_fetch` / :func:`check_url`: the URL-import client (``fetch.py`` lists its rules);
- :class:`AllowList`: admin-approved internal targets (CIDRs and ``host:port``);
- :func:`forbidden_reason`: why an IP address is off limits;
- :func:`media_type`: what a stored file is, from its bytes, and whether it may be shown inline.
"""

from __future__ import annotations

from .addresses import METADATA, forbidden_reason, is_metadata, legacy_ipv4, reached
from .allowlist import AllowList
from .fetch import FetchResult, Target, check_url, safe_fetch
from .media import MediaType, media_type

__all__ = [
    "METADATA",
    "AllowList",
    "FetchResult",
    "MediaType",
    "Target",
    "check_url",
    "forbidden_reason",
    "is_metadata",
    "legacy_ipv4",
    "media_type",
    "reached",
    "safe_fetch",
]
