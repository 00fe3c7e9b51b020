"""The admin allow-list: targets a fetch may reach although their address is not public.

Entries (strings):

- a network or address: ``10.20.0.0/16``, ``10.20.0.5``, ``fd12:3456::/48``: any port there;
- ``host:port``: ``127.0.0.1:9000``, ``[::1]:9000``, ``data.internal:8443``: that one port of
  that address, or of whatever that name resolves to.

Cloud metadata addresses (see :data:`~truelabel.net.addresses.METADATA`) are never allowed,
in any spelling (IPv4-mapped, NAT64, 6to4, Teredo... see
:func:`~truelabel.net.addresses.reached`), whatever the entries say: an entry may cover one
(``169.254.0.0/16``, ``::ffff:0:0/96``, ``0.0.0.0/0``) and is accepted, but the metadata
address inside stays refused. IPv6 zone ids (``%eth0``) in entries are dropped.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from truelabel.domain.errors import InvalidInput

from .addresses import IPAddress, is_metadata, plain

_LABEL = r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?"
_NAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*$")
MAX_ENTRIES = 200

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class AllowList:
    """Parsed entries; build with :meth:`parse`. An empty list allows nothing extra."""

    networks: tuple[IPNetwork, ...] = ()
    endpoints: frozenset[tuple[str, int]] = field(default_factory=frozenset)
    entries: tuple[str, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str] | AllowList | None) -> AllowList:
        """Check and parse entries; InvalidInput names the first bad one."""
        if isinstance(entries, AllowList):
            return entries
        if entries is None:
            return cls()
        if isinstance(entries, str):
            raise InvalidInput("The URL allow-list must be a list of strings, not one string.")
        networks: list[IPNetwork] = []
        endpoints: set[tuple[str, int]] = set()
        clean: list[str] = []
        for raw in entries:
            if not isinstance(raw, str):
                raise InvalidInput(f"Allow-list entry {raw!r} is not a string.", entry=repr(raw))
            entry = raw.strip().lower()
            if not entry:
                continue
            net = _network(entry)
            if net is not None:
                networks.append(net)
            else:
                endpoints.add(_endpoint(entry, raw))
            clean.append(entry)
        if len(clean) > MAX_ENTRIES:
            raise InvalidInput(f"The URL allow-list holds at most {MAX_ENTRIES} entries.")
        return cls(tuple(networks), frozenset(endpoints), tuple(dict.fromkeys(clean)))

    def allows(self, host: str, port: int, ip: IPAddress) -> bool:
        """True if an entry admits ``ip`` reached as ``host:port``. Metadata: always False."""
        if is_metadata(ip):
            return False
        ip = plain(ip)
        if any(ip.version == n.version and ip in n for n in self.networks):
            return True
        return (host, port) in self.endpoints or (str(ip), port) in self.endpoints

    def __bool__(self) -> bool:
        return bool(self.networks or self.endpoints)


def _network(entry: str) -> IPNetwork | None:
    if "%" in entry and ":" in entry and not entry.startswith("["):  # fe80::1%eth0[/64]
        zone = re.match(r"^([0-9a-f:.]+)%[^/]*(/.*)?$", entry)
        if zone:
            entry = zone.group(1) + (zone.group(2) or "")
    try:
        return ipaddress.ip_network(entry, strict=False)
    except ValueError:
        if "/" in entry:
            raise InvalidInput(
                f"Allow-list entry {entry!r} is not a network; write e.g. 10.0.0.0/8.",
                entry=entry,
            ) from None
        return None


def _endpoint(entry: str, raw: str) -> tuple[str, int]:
    bad = InvalidInput(
        f"Allow-list entry {raw!r} is neither a network (10.0.0.0/8, 10.0.0.5) nor host:port "
        "(data.internal:8443, 10.0.0.5:9000, [fd00::5]:9000).",
        entry=raw,
    )
    m = re.match(r"^\[([0-9a-f:.]+)(?:%[^\]]*)?\]:(\d{1,5})$", entry) or re.match(
        r"^([^:\[\]]+):(\d{1,5})$", entry
    )
    if not m:
        raise bad
    host, port = m.group(1), int(m.group(2))
    if not 0 < port < 65536:
        raise bad
    try:
        host = str(ipaddress.ip_address(host))
    except ValueError:
        host = host.rstrip(".")
        if not _NAME.match(host):
            raise bad from None
    return host, port
