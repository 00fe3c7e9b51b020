"""Fetch a URL on behalf of a user without letting the URL reach inside the network (SSRF).

The rules, in order, for the first URL and again for every redirect hop:

1. only ``http`` and ``https``; no credentials in the URL; at most 2,048 characters;
2. a host spelled as a legacy integer/octal/hex address (``2130706433``, ``0x7f000001``,
   ``0177.0.0.1``, ``127.1``) is read the way ``inet_aton`` reads it, checked, and refused;
3. the host is resolved once with :func:`socket.getaddrinfo`; if *any* address is loopback,
   private, link-local, CGNAT, multicast, reserved, unspecified or a cloud metadata address
   (IPv4-mapped, NAT64 and 6to4 forms judged by their IPv4 address), the URL is refused unless
   the admin allow-list admits that address;
4. the connection goes to the vetted addresses only: a custom network backend maps the host
   name to them, so there is no second DNS lookup (no DNS rebinding); the Host header, TLS SNI
   and certificate check keep the name;
5. redirects are followed by hand (each hop goes through 1-4), at most ``max_redirects``;
6. the body is capped at ``max_bytes`` (decoded) and the whole fetch at ``timeout`` seconds.

Errors are :class:`~truelabel.domain.errors.InvalidInput` with ``detail["reason"]``; they name
the URL and the rule, never the response body. httpx is imported on first use only.
"""

from __future__ import annotations

import ipaddress
import socket
import tempfile
import time
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO, Any

from truelabel.domain.errors import InvalidInput

from .addresses import (
    IPAddress,
    forbidden_reason,
    is_canonical_ipv4,
    is_metadata,
    legacy_ipv4,
)
from .allowlist import AllowList

MAX_URL = 2048
REDIRECTS = frozenset({301, 302, 303, 307, 308})
USER_AGENT = "truelabel-url-import/1"
_PORTS = {"http": 80, "https": 443}
_HINT = "an admin can allow-list it"


def _refuse(url: str, why: str, reason: str, **detail: Any) -> InvalidInput:
    return InvalidInput(f"Refused to fetch {url}: {why}.", url=url, reason=reason, **detail)


@dataclass(frozen=True)
class Target:
    """A URL that passed the checks, with the addresses its connection is pinned to."""

    url: str
    scheme: str
    host: str  # as it goes on the wire: lower case, IDNA-encoded, IPv6 without brackets
    port: int
    addresses: tuple[IPAddress, ...]


@dataclass
class FetchResult:
    """The downloaded body in an unnamed temporary file (positioned at 0). Close it when done."""

    file: IO[bytes]
    final_url: str
    content_type: str
    size: int
    redirects: list[str] = field(default_factory=list)

    def close(self) -> None:
        self.file.close()

    def __enter__(self) -> FetchResult:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- checking -----------------------------------------------------------------------------
def check_url(
    url: str, *, allow: Iterable[str] | AllowList | None = (), resolve: bool = True
) -> Target:
    """Validate ``url`` and resolve its host, without connecting anywhere.

    ``resolve=False`` checks only the URL itself (scheme, spelling, a literal address) and
    returns no addresses for a host name: a quick check before a background job.
    """
    allowed = AllowList.parse(allow)
    if not isinstance(url, str) or not url:
        raise InvalidInput("Give the URL to import as text.", reason="syntax")
    if len(url) > MAX_URL:
        raise _refuse(url[:80] + "…", f"the URL is longer than {MAX_URL} characters", "syntax")
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
        raise _refuse(repr(url), "the URL contains spaces or control characters", "syntax")
    try:
        parts = urllib.parse.urlsplit(url)
        hostname = parts.hostname or ""
        has_userinfo = "@" in parts.netloc
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise _refuse(url, "it is not a valid URL", "syntax") from None
    scheme = parts.scheme.lower()
    if scheme not in _PORTS:
        raise _refuse(
            url,
            f"only http and https URLs can be imported (this one is {scheme or 'relative'})",
            "scheme",
        )
    if has_userinfo:
        raise _refuse(
            url,
            "credentials in the URL are not supported (they would be stored and logged)",
            "credentials",
        )
    if not hostname:
        raise _refuse(url, "the URL has no host", "syntax")

    if ":" not in hostname:
        legacy = legacy_ipv4(hostname)
        if legacy is not None and not is_canonical_ipv4(hostname.rstrip(".")):
            why = forbidden_reason(legacy)
            raise _refuse(
                url,
                f"the host {hostname} is a disguised spelling of {legacy}"
                + (f", {why}" if why else "")
                + f"; write the address as {legacy}",
                "forbidden_address" if why else "syntax",
                address=str(legacy),
            )

    import httpx

    try:
        hx = httpx.URL(url)
        host = hx.raw_host.decode("ascii").lower()
    except (httpx.InvalidURL, UnicodeError, ValueError):
        raise _refuse(url, "it is not a valid URL", "syntax") from None
    if hx.scheme not in _PORTS or not (
        _same_host(hx.host, hostname) or _same_host(host, hostname)  # unicode or IDNA spelling
    ):
        # The two URL parsers disagree about the host: refuse rather than guess which one the
        # connection would follow.
        raise _refuse(url, "the host of the URL is ambiguous", "syntax")
    if "%" in host:
        raise _refuse(url, "IPv6 zone identifiers are not allowed", "syntax")
    if hx.port == 0:
        raise _refuse(url, "port 0 cannot be fetched", "syntax")
    port = hx.port or _PORTS[scheme]

    literal = _ip_literal(host)
    if literal is not None:
        addresses: tuple[IPAddress, ...] = (literal,)
    else:
        addresses = _resolve(url, host, port) if resolve else ()
    for ip in addresses:
        why = forbidden_reason(ip)
        if why is None or allowed.allows(host.rstrip("."), port, ip):
            continue
        verb = "points at" if literal is not None else "resolves to"
        hint = "it cannot be allow-listed" if is_metadata(ip) else _HINT
        raise _refuse(url, f"it {verb} {ip}, {why}; {hint}", "forbidden_address", address=str(ip))
    return Target(str(hx), scheme, host, port, addresses)


def _same_host(a: str, b: str) -> bool:
    a, b = a.lower().rstrip("."), b.lower().rstrip(".")
    ia, ib = _ip_literal(a), _ip_literal(b)
    return a == b if ia is None or ib is None else ia == ib


def _ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _resolve(url: str, host: str, port: int) -> tuple[IPAddress, ...]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        raise _refuse(url, f"the host {host} cannot be resolved", "dns") from None
    out: dict[IPAddress, None] = {}
    for family, *_, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        try:
            out[ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])] = None
        except ValueError:
            why = f"the host {host} resolves to an unreadable address"
            raise _refuse(url, why, "dns") from None
    if not out:
        raise _refuse(url, f"the host {host} has no address", "dns")
    return tuple(out)


# -- fetching -----------------------------------------------------------------------------
def safe_fetch(
    url: str,
    *,
    allow: Iterable[str] | AllowList | None = (),
    max_bytes: int,
    timeout: float,
    max_redirects: int = 5,
    connect_timeout: float = 10.0,
) -> FetchResult:
    """Download ``url`` into a temporary file under the rules in this module's docstring."""
    import httpx

    allowed = AllowList.parse(allow)
    deadline = time.monotonic() + timeout
    current = url
    hops: list[str] = []
    for _ in range(max_redirects + 1):
        target = check_url(current, allow=allowed)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _refuse(url, f"it took longer than {timeout:g} s", "timeout")
        limits = httpx.Timeout(min(remaining, timeout), connect=min(remaining, connect_timeout))
        try:
            with (
                httpx.Client(
                    transport=_pinned_transport(target),
                    timeout=limits,
                    follow_redirects=False,
                    trust_env=False,  # no proxy from the environment: it would connect elsewhere
                    headers={"user-agent": USER_AGENT, "accept": "*/*"},
                ) as client,
                client.stream("GET", target.url) as resp,
            ):
                if resp.status_code in REDIRECTS:
                    location = resp.headers.get("location")
                    if not location:
                        raise _refuse(current, "it redirects without a Location", "redirect")
                    hops.append(current)
                    current = urllib.parse.urljoin(current, location.strip())
                    current = urllib.parse.urldefrag(current)[0]
                    continue
                if not 200 <= resp.status_code < 300:
                    raise _refuse(
                        current,
                        f"the server answered HTTP {resp.status_code}",
                        "http_status",
                        status=resp.status_code,
                    )
                return _read_body(resp, current, target, max_bytes, deadline, timeout, hops)
        except httpx.TimeoutException:
            why = f"the server did not answer within {timeout:g} s"
            raise _refuse(current, why, "timeout") from None
        except httpx.HTTPError as exc:
            raise _refuse(
                current, f"the download failed ({type(exc).__name__})", "connection"
            ) from None
    raise _refuse(url, f"it redirects more than {max_redirects} times", "redirect", hops=hops)


def _read_body(
    resp: Any,
    url: str,
    target: Target,
    max_bytes: int,
    deadline: float,
    timeout: float,
    hops: list[str],
) -> FetchResult:
    too_big = _refuse(url, f"the response is larger than {max_bytes:,} bytes", "too_large")
    length = resp.headers.get("content-length", "")
    if length.isascii() and length.isdecimal() and int(length) > max_bytes:
        raise too_big
    tmp = tempfile.TemporaryFile(prefix="tl-fetch-")
    try:
        size = 0
        for chunk in resp.iter_bytes(1 << 16):
            size += len(chunk)
            if size > max_bytes:
                raise too_big
            if time.monotonic() > deadline:
                raise _refuse(url, f"the download took longer than {timeout:g} s", "timeout")
            tmp.write(chunk)
        tmp.seek(0)
    except BaseException:
        tmp.close()
        raise
    ctype = resp.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return FetchResult(tmp, target.url, ctype, size, hops)


def _connect(backend: Any, ip: IPAddress, port: int, **kw: Any) -> Any:
    """Open a TCP connection to one vetted address (a seam the tests replace)."""
    return backend.connect_ip(str(ip), port, **kw)


def _pinned_transport(target: Target) -> Any:
    import httpcore
    import httpx

    class PinnedBackend(httpcore.SyncBackend):
        """Connects ``target.host`` to the vetted addresses and refuses anything else."""

        def connect_tcp(  # type: ignore[override]  # only the keywords httpx passes
            self, host: str, port: int, **kw: Any
        ) -> Any:
            if host.lower() != target.host or port != target.port:
                raise httpcore.ConnectError(f"{host}:{port} was not vetted")
            error: Exception | None = None
            for ip in target.addresses:
                try:
                    return _connect(self, ip, port, **kw)
                except httpcore.ConnectError as exc:
                    error = exc
            raise error or httpcore.ConnectError("no address")

        def connect_ip(self, ip: str, port: int, **kw: Any) -> Any:
            return super().connect_tcp(ip, port, **kw)

        def connect_unix_socket(self, *a: Any, **kw: Any) -> Any:
            raise httpcore.ConnectError("unix sockets are not allowed")

    transport = httpx.HTTPTransport(trust_env=False)
    # httpx builds its pool without a way to pass a network backend; replace it with one that
    # has the pinned backend (same TLS context, one connection, no retries).
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(),
        max_connections=1,
        http1=True,
        http2=False,
        retries=0,
        network_backend=PinnedBackend(),
    )
    return transport
