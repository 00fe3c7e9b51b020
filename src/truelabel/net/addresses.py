"""Which IP addresses a server-side fetch may reach, and host names that hide an address.

Everything here is pure: no DNS, no sockets. :func:`forbidden_reason` says why an address is
off limits (``None`` for a public unicast address); :func:`legacy_ipv4` reads the old BSD
``inet_aton`` spellings (``2130706433``, ``0x7f000001``, ``0177.0.0.1``, ``127.1``) that some
resolvers and browsers still accept, so they can be checked instead of slipping through.
"""

from __future__ import annotations

import ipaddress
import re

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Cloud instance-metadata and credential endpoints: 169.254.169.254 (AWS, GCP, Azure,
#: OpenStack, Oracle, DigitalOcean), fd00:ec2::254 (AWS IPv6), 100.100.100.200 (Alibaba),
#: 169.254.170.2 and 169.254.170.23 / fd00:ec2::23 (AWS ECS task credentials, EKS Pod
#: Identity), 168.63.129.16 (Azure WireServer), 192.0.0.192 (Oracle Cloud, legacy). Never
#: reachable in any spelling (see :func:`is_metadata`), not even through an allow-list entry
#: that covers their network.
METADATA: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254", "fd00:ec2::254", "100.100.100.200", "169.254.170.2",
        "169.254.170.23", "fd00:ec2::23", "168.63.129.16", "192.0.0.192",
    )
)

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_IETF_V4 = ipaddress.ip_network("192.0.0.0/24")  # protocol assignments, not global
_V4_COMPAT = ipaddress.ip_network("::/96")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_TEREDO = ipaddress.ip_network("2001::/32")
_SIIT = ipaddress.ip_network("::ffff:0:0:0/96")  # IPv4-translated (RFC 2765)
#: RFC 6052: where an IPv4 address sits in a NAT64 address, per prefix length (byte slices of
#: the 16 bytes; byte 8 is the reserved "u" octet). A local-use prefix (64:ff9b:1::/48) may
#: be any of /48 to /96, so every placement from /48 on is tried.
_RFC6052 = {48: (6, 8, 9, 11), 56: (7, 8, 9, 12), 64: (9, 13, 0, 0), 96: (12, 16, 0, 0)}

_LEGACY_PART = re.compile(r"^(0[xX][0-9a-fA-F]*|0[0-7]*|[1-9][0-9]*)$")


def forbidden_reason(ip: IPAddress) -> str | None:
    """Why ``ip`` must not be fetched from ("a private address"), or None if it is public.

    IPv6 forms that carry an IPv4 address (mapped ``::ffff:a.b.c.d``, compatible ``::a.b.c.d``,
    NAT64 ``64:ff9b::a.b.c.d``, 6to4 ``2002:AABB:CCDD::``) are judged by that IPv4 address.
    """
    if is_metadata(ip):
        return "a cloud metadata address"
    if isinstance(ip, ipaddress.IPv6Address):
        embedded, form = _embedded_v4(ip)
        if embedded is not None:
            inner = forbidden_reason(embedded)
            if inner is not None:
                return f"the {form} form of {embedded}, {inner}"
            if form == "IPv4-compatible":  # deprecated (RFC 4291); never routed
                return "a deprecated IPv4-compatible address"
            return None
        if ip in _NAT64_LOCAL:
            return "a local-use NAT64 address"
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT:
        return "a carrier-grade NAT (shared) address"
    if ip.is_multicast:
        return "a multicast address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return "a site-local address"
    if ip.is_reserved:
        return "a reserved address"
    if ip.is_private:
        return "a private address"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _IETF_V4:
        return "a reserved address"
    if not ip.is_global:
        return "a non-public address"
    return None


def plain(ip: IPAddress) -> IPAddress:
    """``ip`` without an IPv6 zone id (``fe80::1%eth0`` is ``fe80::1``)."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id is not None:
        return ipaddress.IPv6Address(int(ip))
    return ip


def reached(ip: IPAddress) -> tuple[IPAddress, ...]:
    """``ip`` (zone id dropped) and every IPv4 address it carries or leads to.

    IPv4-mapped ``::ffff:a.b.c.d``, IPv4-compatible ``::a.b.c.d``, NAT64 (``64:ff9b::/96``
    and every RFC 6052 placement in the local-use ``64:ff9b:1::/48``), 6to4 ``2002::/16`` and
    Teredo ``2001::/32`` (its server and its client address), IPv4-translated ``::ffff:0:a.b.c.d``.
    """
    ip = plain(ip)
    out: list[IPAddress] = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        embedded, _ = _embedded_v4(ip)
        if embedded is not None:
            out.append(embedded)
        if ip in _SIIT:
            out.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if ip in _TEREDO and ip.teredo is not None:
            out.extend(ip.teredo)
        if ip in _NAT64_LOCAL:
            raw = ip.packed
            for a, b, c, d in _RFC6052.values():
                out.append(ipaddress.IPv4Address(raw[a:b] + raw[c:d]))
    return tuple(dict.fromkeys(out))


def is_metadata(ip: IPAddress) -> bool:
    """True if ``ip``, in whatever spelling, reaches a cloud metadata address."""
    return any(a in METADATA for a in reached(ip))


def _embedded_v4(ip: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address | None, str]:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped, "IPv4-mapped"
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF), "NAT64"
    if ip.sixtofour is not None:
        return ip.sixtofour, "6to4"
    if ip in _V4_COMPAT and int(ip) > 1:  # not :: and not ::1
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF), "IPv4-compatible"
    return None, ""


def legacy_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The address a BSD ``inet_aton`` reads from ``host``, or None if it is not such a form.

    Accepts 1 to 4 parts separated by dots, each decimal, octal (leading 0) or hex (``0x``);
    the last part fills the remaining bytes: ``127.1`` is 127.0.0.1, ``2130706433`` too.
    """
    parts = host.split(".")
    if parts and parts[-1] == "":  # one trailing dot, as in "127.0.0.1."
        parts.pop()
    if not 1 <= len(parts) <= 4 or not all(_LEGACY_PART.match(p) for p in parts):
        return None
    values = []
    for p in parts:
        if p[:2].lower() == "0x":
            values.append(int(p[2:] or "0", 16))
        elif len(p) > 1 and p[0] == "0":
            values.append(int(p, 8))
        else:
            values.append(int(p))
    *head, last = values
    if any(v > 0xFF for v in head) or last >= 1 << (8 * (4 - len(head))):
        return None
    n = 0
    for v in head:
        n = (n << 8) | v
    n = (n << (8 * (4 - len(head)))) | last
    return ipaddress.IPv4Address(n)


def is_canonical_ipv4(host: str) -> bool:
    """True for plain dotted decimal ``a.b.c.d`` without leading zeros."""
    try:
        return str(ipaddress.IPv4Address(host)) == host
    except ValueError:
        return False
