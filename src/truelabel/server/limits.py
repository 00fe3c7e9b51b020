"""What the HTTP edge accepts: request body limits per kind of route, and allowed Host names.

:class:`EdgeSettings` is built once (``truelabel serve`` from its options and environment
variables, or by a program that calls :func:`~truelabel.server.app.create_app`) and read by
:class:`~truelabel.server.edge.Edge` on every request.

=========================  ====================================  ============================
setting                    ``truelabel serve`` option             environment variable
=========================  ====================================  ============================
``max_json_body``          ``--max-json-body`` (1 MiB)           ``TRUELABEL_MAX_JSON_BODY``
``max_login_body``         ``--max-login-body`` (64 KiB)         ``TRUELABEL_MAX_LOGIN_BODY``
``max_upload_body``        ``--max-upload-body`` (2 GiB)         ``TRUELABEL_MAX_UPLOAD_BODY``
``allowed_hosts``          ``--allowed-hosts``                   ``TRUELABEL_ALLOWED_HOSTS``
=========================  ====================================  ============================

Sizes are bytes or a number with a unit (``512KiB``, ``1MiB``, ``4GiB``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from truelabel.domain.environment import (
    ALLOWED_HOSTS,
    MAX_JSON_BODY,
    MAX_LOGIN_BODY,
    MAX_UPLOAD_BODY,
)
from truelabel.domain.errors import InvalidInput

from .hosts import AllowedHosts

KIB, MIB, GIB = 1 << 10, 1 << 20, 1 << 30
_UNITS = {"": 1, "b": 1, "k": KIB, "kb": KIB, "kib": KIB, "m": MIB, "mb": MIB, "mib": MIB,
          "g": GIB, "gb": GIB, "gib": GIB}
_SIZE = re.compile(r"\s*([0-9]+)\s*([a-z]*)\s*")

#: Room for the multipart framing around an upload's file (boundaries, part headers, the
#: small form fields), so a file of exactly the upload limit still fits.
MULTIPART_SLACK = 64 * KIB
ENV = {"max_json_body": MAX_JSON_BODY.name, "max_login_body": MAX_LOGIN_BODY.name,
       "max_upload_body": MAX_UPLOAD_BODY.name, "allowed_hosts": ALLOWED_HOSTS.name}


def parse_size(text: str | int) -> int:
    """Bytes from ``1048576``, ``"512KiB"``, ``"1 MiB"``, ``"4GiB"`` (K/M/G are powers of 1024).

    Raises:
        InvalidInput: not a whole number of bytes with an optional unit.
    """
    if isinstance(text, int):
        n = text
    else:
        m = _SIZE.fullmatch(text.lower())
        if m is None or m[2] not in _UNITS:
            raise InvalidInput(
                f"{text!r} is not a size; write bytes or a number with a unit, e.g. 1048576, "
                "512KiB, 1MiB or 4GiB.")
        n = int(m[1]) * _UNITS[m[2]]
    if n < 1:
        raise InvalidInput(f"A size limit must be at least 1 byte, not {text!r}.")
    return n


def format_size(n: int) -> str:
    """``1048576`` → ``"1 MiB"`` (exact units only; otherwise bytes)."""
    for unit, size in (("GiB", GIB), ("MiB", MIB), ("KiB", KIB)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n:,} bytes"


@dataclass(frozen=True)
class EdgeSettings:
    """Limits and host names the server enforces before any route runs.

    Attributes:
        max_json_body: bytes of any request body that is not a login or an upload (JSON
            API writes, the annotators' loop).
        max_login_body: bytes of a ``POST /api/login`` body (a user name and a password).
        max_upload_body: bytes of the file in a multipart upload (file imports; gold files
            and media have their own smaller caps, see ``edge.UPLOAD_ROUTES``); the body may
            be :data:`MULTIPART_SLACK` more. Only read after the caller is authenticated,
            and streamed to disk.
        allowed_hosts: the ``Host`` names the server answers to (any port); None answers
            every name (what :func:`~truelabel.server.app.create_app` does unless told: a
            program that embeds the app decides; ``truelabel serve`` always sets one).
        access_log: write one line per request (``server/access.py``); ``truelabel serve``
            turns it on unless told not to.
    """

    max_json_body: int = 1 * MIB
    max_login_body: int = 64 * KIB
    max_upload_body: int = 2 * GIB
    allowed_hosts: AllowedHosts | None = None
    access_log: bool = False

    def __post_init__(self) -> None:
        for name in ("max_json_body", "max_login_body", "max_upload_body"):
            object.__setattr__(self, name, parse_size(getattr(self, name)))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> EdgeSettings:
        """The defaults, overridden by the ``TRUELABEL_*`` variables of the module's table.

        Raises:
            InvalidInput: a variable that is not a size or a list of host names (the message
                names it).
        """
        env = os.environ if env is None else env
        given: dict[str, object] = {}
        for name, var in ENV.items():
            text = env.get(var, "").strip()
            if not text:
                continue
            try:
                given[name] = AllowedHosts.parse(text) if name == "allowed_hosts" else \
                    parse_size(text)
            except InvalidInput as exc:
                raise InvalidInput(f"{var}: {exc.message}") from None
        return cls(**given)  # type: ignore[arg-type]

    def for_bind(self, host: str) -> EdgeSettings:
        """These settings as served on the interface ``host``: when no allowed hosts were
        given, the loopback names for a loopback bind, the address itself for a specific
        address; a wildcard bind (``0.0.0.0``, ``::``) must name them.

        Raises:
            InvalidInput: a wildcard bind without allowed hosts (the message says what to set).
        """
        if self.allowed_hosts is not None:
            return self
        return replace(self, allowed_hosts=AllowedHosts.for_bind(host))
