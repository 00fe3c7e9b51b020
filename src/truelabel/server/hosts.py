"""Which ``Host`` names the server answers to (the defence against DNS rebinding).

A web page on ``attacker.example`` can make its own name resolve to 127.0.0.1 after the
page has loaded, and then its scripts call "their own" origin, which is now this server.
The browser still sends ``Host: attacker.example``; answering only the names the server is
known by (``--allowed-hosts``) refuses those requests with 400 before any route runs.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

from truelabel.domain.errors import InvalidInput

#: The names a loopback-bound server answers to by default (any port).
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
_WILDCARD_BINDS = {"", "0.0.0.0", "::", "[::]", "*"}
_NAME = re.compile(r"[a-z0-9_.:*-]+")


def host_name(raw: str) -> str:
    """The name part of a ``Host`` header or an allowed-hosts entry, normalised: lower case,
    no port, no IPv6 brackets, no trailing dot (``"[::1]:8000"`` → ``"::1"``)."""
    h = raw.strip().lower()
    if h.startswith("["):  # [v6]:port
        end = h.find("]")
        return h[1:end] if end > 0 else h
    if h.count(":") == 1:  # name:port (a bare v6 address has several colons)
        h = h.split(":", 1)[0]
    return h.rstrip(".")


class AllowedHosts:
    """A set of host names; ``*.example.org`` allows every subdomain of example.org (not
    example.org itself) and ``*`` allows every name."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names: frozenset[str] = frozenset()
        self.suffixes: tuple[str, ...] = ()
        self.any = False
        exact, suffixes = set(), []
        for entry in names:
            name = host_name(entry)
            if not name:
                continue
            if name == "*":
                self.any = True
            elif name.startswith("*.") and _NAME.fullmatch(name[2:]) and "*" not in name[2:]:
                suffixes.append(name[1:])
            elif _NAME.fullmatch(name) and "*" not in name:
                exact.add(name)
            else:
                raise InvalidInput(
                    f"{entry!r} is not a host name for --allowed-hosts; give names or "
                    "addresses such as labels.example.org, 10.0.0.5, *.example.org or *.")
        if not exact and not suffixes and not self.any:
            raise InvalidInput("--allowed-hosts names no host; give at least one name "
                               "(e.g. labels.example.org), or * to answer every name.")
        self.names, self.suffixes = frozenset(exact), tuple(suffixes)
        self._seen: dict[bytes, bool] = {}  # raw header -> allowed (bounded)

    @classmethod
    def parse(cls, text: str) -> AllowedHosts:
        """From ``"labels.example.org, 10.0.0.5 *.example.org"`` (commas or spaces)."""
        return cls(t for t in re.split(r"[,\s]+", text) if t)

    @classmethod
    def for_bind(cls, host: str) -> AllowedHosts:
        """The default for a server bound to ``host``: the loopback names for a loopback
        address, else the address or name itself.

        Raises:
            InvalidInput: ``host`` is a wildcard (``0.0.0.0``, ``::``): any name may reach
                it, so the admin must say which (``--allowed-hosts``).
        """
        if host.strip() in _WILDCARD_BINDS:
            raise InvalidInput(
                f"Serving on {host or 'every interface'} needs the host names clients use: "
                "pass --allowed-hosts (or set TRUELABEL_ALLOWED_HOSTS), e.g. "
                "--allowed-hosts labels.example.org, or --allowed-hosts '*' if a proxy in "
                "front checks the Host header.")
        name = host_name(host)
        if name == "localhost":
            return cls(LOOPBACK_NAMES)
        try:
            if ipaddress.ip_address(name).is_loopback:
                return cls(LOOPBACK_NAMES)
        except ValueError:
            pass
        return cls([name])

    def allows(self, raw: bytes | None) -> bool:
        """Whether a request with this raw ``Host`` header is answered (None: no header)."""
        if self.any:
            return True
        if raw is None:
            return False
        known = self._seen.get(raw)
        if known is not None:
            return known
        name = host_name(raw.decode("latin-1"))
        ok = name in self.names or any(name.endswith(s) for s in self.suffixes)
        if len(self._seen) < 1024:
            self._seen[raw] = ok
        return ok

    def __repr__(self) -> str:
        shown = sorted(self.names) + [f"*{s}" for s in self.suffixes] + (["*"] if self.any else [])
        return f"AllowedHosts({', '.join(shown)})"
