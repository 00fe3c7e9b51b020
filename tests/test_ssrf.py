"""URL import cannot be turned into SSRF (research §6 tests 7 and 8).

Network rule of this file: traffic goes only to loopback servers started here. Refusals of
private, metadata and public addresses are checked at the resolution level: ``getaddrinfo`` is
replaced for fake ``*.test`` names and the connect path fails the test if it is reached.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpcore
import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from truelabel.core import Project
from truelabel.core.url_import import import_url, set_url_allowlist
from truelabel.domain.errors import Forbidden, InvalidInput
from truelabel.domain.models import User
from truelabel.net import (
    METADATA,
    AllowList,
    check_url,
    forbidden_reason,
    is_metadata,
    legacy_ipv4,
    safe_fetch,
)
from truelabel.net import fetch as fetch_mod
from truelabel.net.addresses import IPAddress

JSONL = b"".join(
    json.dumps({"id": f"url{i}", "text": f"Fetched {i}"}).encode() + b"\n" for i in range(3)
)


# -- loopback servers ------------------------------------------------------------------------
class Loopback:
    """An HTTP server on 127.0.0.1 (and on ::1 at the same port when it can) counting requests.

    ``routes`` maps a path to (status, headers, body, delay seconds); other paths answer 200
    with three JSONL records.
    """

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []  # (path, Host header)
        self.routes: dict[str, tuple[int, dict[str, str], bytes, float]] = {}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                outer.requests.append((self.path, self.headers.get("host", "")))
                status, headers, body, delay = outer.routes.get(
                    self.path.split("?")[0], (200, {"Content-Length": str(len(JSONL))}, JSONL, 0)
                )
                if delay:
                    time.sleep(delay)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:
                    pass

            do_GET = do_POST = do_HEAD = do_PUT = _any

            def log_message(self, *args: Any) -> None:
                pass

        self.v4 = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.v4.daemon_threads = True
        self.port = self.v4.server_address[1]
        self.servers = [self.v4]
        try:

            class V6(ThreadingHTTPServer):
                address_family = socket.AF_INET6

            v6 = V6(("::1", self.port), Handler)
            v6.daemon_threads = True
            self.servers.append(v6)
        except OSError:  # no IPv6 loopback here: [::1] is still refused, just not observed
            pass
        for s in self.servers:
            threading.Thread(target=s.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def hits(self) -> int:
        return len(self.requests)

    def close(self) -> None:
        for s in self.servers:
            s.shutdown()
            s.server_close()


@pytest.fixture
def canary() -> Iterator[Loopback]:
    s = Loopback()
    yield s
    s.close()


@pytest.fixture
def server() -> Iterator[Loopback]:
    """A second loopback server, the one tests allow-list."""
    s = Loopback()
    yield s
    s.close()


# -- resolver and connect stubs ----------------------------------------------------------------
class FakeDNS:
    def __init__(self) -> None:
        self.table: dict[str, list[list[str]]] = {}
        self.calls: list[str] = []

    def __setitem__(self, host: str, answers: list[str] | list[list[str]]) -> None:
        seq = answers if answers and isinstance(answers[0], list) else [answers]
        self.table[host] = [list(a) for a in seq]  # type: ignore[arg-type]


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> FakeDNS:
    """``getaddrinfo`` answers for the names set here; other names resolve normally."""
    dns = FakeDNS()
    real = socket.getaddrinfo

    def stub(host: Any, port: Any, *args: Any, **kw: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in dns.table:
            return real(host, port, *args, **kw)
        dns.calls.append(name)
        answers = dns.table[name]
        ips = answers.pop(0) if len(answers) > 1 else answers[0]
        out = []
        for ip in ips:
            if ":" in ip:
                out.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (ip, port or 0, 0, 0)))
            else:
                out.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port or 0)))
        return out

    monkeypatch.setattr(socket, "getaddrinfo", stub)
    return dns


@pytest.fixture
def no_connect(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a connection fails the test."""

    def boom(*args: Any, **kw: Any) -> Any:
        pytest.fail(f"a connection was attempted: {args}")

    monkeypatch.setattr(fetch_mod, "_connect", boom)
    monkeypatch.setattr(socket, "create_connection", boom)


def _refused(reason: str, fn: Any, *args: Any, **kw: Any) -> InvalidInput:
    with pytest.raises(InvalidInput) as ei:
        fn(*args, **kw)
    assert ei.value.detail.get("reason") == reason, ei.value.message
    return ei.value


def fetch(url: str, **kw: Any) -> Any:
    kw.setdefault("max_bytes", 1 << 20)
    kw.setdefault("timeout", 10)
    return safe_fetch(url, **kw)


# -- forbidden forms against a live canary ----------------------------------------------------
FORBIDDEN_FORMS = [
    "http://127.0.0.1:{port}/data.jsonl",
    "http://localhost:{port}/data.jsonl",
    "http://2130706433:{port}/data.jsonl",
    "http://0x7f000001:{port}/data.jsonl",
    "http://0177.0.0.1:{port}/data.jsonl",
    "http://127.1:{port}/data.jsonl",
    "http://0:{port}/data.jsonl",
    "http://0.0.0.0:{port}/data.jsonl",
    "http://[::ffff:127.0.0.1]:{port}/data.jsonl",
    "http://[::ffff:7f00:1]:{port}/data.jsonl",
    "http://[::1]:{port}/data.jsonl",
    "http://[::]:{port}/data.jsonl",
    "http://LOCALHOST.:{port}/data.jsonl",
    "https://127.0.0.1:{port}/data.jsonl",
]


@pytest.mark.parametrize("form", FORBIDDEN_FORMS)
def test_forbidden_loopback_forms_never_reach_the_canary(
    form: str, canary: Loopback, project: Project, connects: list[str]
) -> None:
    url = form.format(port=canary.port)
    with pytest.raises(InvalidInput) as ei:
        import_url(project, url, actor=None, allow=[])
    err = ei.value
    # "localhost." may not resolve at all here; then it is refused as unresolvable
    expected = {"forbidden_address", "dns"} if "LOCALHOST." in form else {"forbidden_address"}
    assert err.detail["reason"] in expected, err.message
    assert url in err.message
    assert canary.hits == 0
    assert connects == []


def test_allowlisted_loopback_server_imports(
    canary: Loopback, project: Project, connects: list[str]
) -> None:
    """The canary is alive: allow-listed, the same server imports fine."""
    before = len(project.items(limit=500))
    r = import_url(
        project,
        f"http://127.0.0.1:{canary.port}/data.jsonl?sig=secret",
        actor=None,
        allow=[f"127.0.0.1:{canary.port}"],
    )
    assert (r.read, r.added, r.format) == (3, 3, "jsonl")
    assert r.source == f"http://127.0.0.1:{canary.port}/data.jsonl"  # no query string kept
    assert canary.hits == 1 and connects == [f"127.0.0.1:{canary.port}"]
    ids = {i["external_id"] for i in project.items(limit=500)}
    assert {"url0", "url1", "url2"} <= ids
    assert len(project.items(limit=500)) == before + 3
    again = import_url(
        project,
        f"http://127.0.0.1:{canary.port}/data.jsonl",
        actor=None,
        allow=[f"127.0.0.1:{canary.port}"],
    )
    assert again.added == 0  # dedup holds for URL imports too


def test_allow_entry_is_for_one_port(canary: Loopback, server: Loopback) -> None:
    _refused(
        "forbidden_address",
        fetch,
        f"http://127.0.0.1:{canary.port}/",
        allow=[f"127.0.0.1:{server.port}"],
    )
    assert canary.hits == 0


# -- redirects --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:{port}/data.jsonl",
        "http://localhost:{port}/data.jsonl",
        "http://2130706433:{port}/data.jsonl",
        "http://[::1]:{port}/data.jsonl",
        "//127.0.0.1:{port}/data.jsonl",
    ],
)
def test_redirect_to_canary_is_refused_at_the_hop(
    target: str, canary: Loopback, server: Loopback, project: Project, connects: list[str]
) -> None:
    server.routes["/go"] = (302, {"Location": target.format(port=canary.port)}, b"", 0)
    err = _refused(
        "forbidden_address",
        import_url,
        project,
        f"http://127.0.0.1:{server.port}/go",
        actor=None,
        allow=[f"127.0.0.1:{server.port}"],
    )
    assert str(canary.port) in err.message
    assert server.hits == 1
    assert canary.hits == 0
    assert connects == [f"127.0.0.1:{server.port}"]


@pytest.mark.parametrize(
    "location", ["file:///etc/passwd", "gopher://127.0.0.1:70/_x", "ftp://127.0.0.1/x"]
)
def test_redirect_to_other_scheme_is_refused(
    location: str, server: Loopback, connects: list[str]
) -> None:
    server.routes["/go"] = (302, {"Location": location}, b"", 0)
    err = _refused(
        "scheme", fetch, f"http://127.0.0.1:{server.port}/go", allow=[f"127.0.0.1:{server.port}"]
    )
    assert location in err.message
    assert server.hits == 1 and connects == [f"127.0.0.1:{server.port}"]


def test_redirect_within_allowlisted_server_is_followed(server: Loopback, project: Project) -> None:
    server.routes["/go"] = (301, {"Location": "/files/data.jsonl"}, b"", 0)
    r = import_url(
        project,
        f"http://127.0.0.1:{server.port}/go",
        actor=None,
        allow=[f"127.0.0.1:{server.port}"],
    )
    assert r.added == 3
    assert [p for p, _ in server.requests] == ["/go", "/files/data.jsonl"]


def test_redirect_loop_is_capped(server: Loopback) -> None:
    server.routes["/loop"] = (302, {"Location": "/loop"}, b"", 0)
    _refused(
        "redirect",
        fetch,
        f"http://127.0.0.1:{server.port}/loop",
        allow=[f"127.0.0.1:{server.port}"],
        max_redirects=3,
    )
    assert server.hits == 4


# -- size, time, status, body -----------------------------------------------------------------
def test_oversize_response_is_refused(server: Loopback) -> None:
    big = b"x" * 5000
    server.routes["/big"] = (200, {"Content-Length": str(len(big))}, big, 0)
    server.routes["/stream"] = (200, {}, big, 0)  # no Content-Length: counted while reading
    allow = [f"127.0.0.1:{server.port}"]
    _refused("too_large", fetch, f"http://127.0.0.1:{server.port}/big", allow=allow, max_bytes=1000)
    _refused(
        "too_large", fetch, f"http://127.0.0.1:{server.port}/stream", allow=allow, max_bytes=1000
    )
    with fetch(f"http://127.0.0.1:{server.port}/stream", allow=allow, max_bytes=5000) as got:
        assert got.size == 5000 and got.file.read() == big


def test_slow_server_times_out(server: Loopback) -> None:
    server.routes["/slow"] = (200, {}, b"{}", 3)
    started = time.monotonic()
    _refused(
        "timeout",
        fetch,
        f"http://127.0.0.1:{server.port}/slow",
        allow=[f"127.0.0.1:{server.port}"],
        timeout=0.5,
    )
    assert time.monotonic() - started < 2.5


def test_error_never_echoes_the_response_body(server: Loopback) -> None:
    server.routes["/err"] = (500, {"Content-Length": "27"}, b"INTERNAL-SECRET aws_key=AKIA", 0)
    err = _refused(
        "http_status",
        fetch,
        f"http://127.0.0.1:{server.port}/err",
        allow=[f"127.0.0.1:{server.port}"],
    )
    text = json.dumps(err.to_dict())
    assert "500" in text and "SECRET" not in text and "AKIA" not in text


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "FILE:///etc/passwd",
        "ftp://127.0.0.1/data.jsonl",
        "gopher://127.0.0.1:70/_x",
        "data:text/plain,hello",
        "javascript:alert(1)",
        "dict://127.0.0.1:11211/",
        "/relative/path.jsonl",
    ],
)
def test_non_http_schemes_are_refused(url: str, project: Project, no_connect: None) -> None:
    _refused("scheme", import_url, project, url, actor=None, allow=["0.0.0.0/0"])


@pytest.mark.parametrize(
    "url,reason",
    [
        ("http://user:pw@127.0.0.1/x", "credentials"),
        ("http://evil.test\\@127.0.0.1/x", "credentials"),
        ("http://exa mple.test/x", "syntax"),
        ("http://example.test/\nx", "syntax"),
        ("http:///x", "syntax"),
        ("http://[fe80::1%25eth0]/x", "syntax"),
        ("http://example.test:99999/x", "syntax"),
        ("http://example.test:0/x", "syntax"),
        ("http://" + "a" * 3000 + ".test/", "syntax"),
    ],
)
def test_malformed_urls_are_refused(url: str, reason: str, no_connect: None) -> None:
    _refused(reason, check_url, url, allow=["0.0.0.0/0", "::/0"])


# -- resolution level: private, metadata and public addresses, without connecting -------------
@pytest.mark.parametrize(
    "ips,words",
    [
        (["10.0.0.5"], "10.0.0.5, a private address"),
        (["172.16.3.4"], "a private address"),
        (["192.168.1.1"], "a private address"),
        (["169.254.169.254"], "a cloud metadata address; it cannot be allow-listed"),
        (["169.254.10.10"], "a link-local address"),
        (["100.64.1.1"], "carrier-grade NAT"),
        (["100.100.100.200"], "cloud metadata"),
        (["fd00:ec2::254"], "cloud metadata"),
        (["fd12:3456::1"], "a private address"),
        (["fe80::1"], "a link-local address"),
        (["::ffff:10.0.0.5"], "IPv4-mapped form of 10.0.0.5"),
        (["::ffff:169.254.169.254"], "cloud metadata"),
        (["64:ff9b::a00:5"], "NAT64 form of 10.0.0.5"),
        (["64:ff9b::a9fe:a9fe"], "cloud metadata"),
        (["2002:a00:5::1"], "6to4 form of 10.0.0.5"),
        (["224.0.0.1"], "a multicast address"),
        (["ff02::1"], "a multicast address"),
        (["240.0.0.1"], "reserved"),
        (["255.255.255.255"], "address"),
        (["0.0.0.0"], "an unspecified address"),
        (["93.184.216.34", "10.0.0.5"], "10.0.0.5, a private address"),  # ANY address counts
        (["2606:2800:220:1:248:1893:25c8:1946", "::1"], "::1, a loopback address"),
    ],
)
def test_private_resolutions_are_refused_without_connecting(
    ips: list[str], words: str, fake_dns: FakeDNS, no_connect: None, project: Project
) -> None:
    fake_dns["internal.test"] = ips
    err = _refused("forbidden_address", fetch, "http://internal.test/data.jsonl")
    assert words in err.message and "http://internal.test/data.jsonl" in err.message
    _refused(
        "forbidden_address",
        import_url,
        project,
        "https://internal.test/d.jsonl",
        actor=None,
        allow=[],
    )


@pytest.mark.parametrize(
    "ip",
    [
        "93.184.216.34",
        "2606:2800:220:1:248:1893:25c8:1946",
        "::ffff:93.184.216.34",
        "2002:5db8:d822::1",
    ],
)
def test_public_resolution_passes_validation(ip: str, fake_dns: FakeDNS, no_connect: None) -> None:
    fake_dns["public.test"] = [ip]
    target = check_url("https://public.test/data.jsonl")
    assert [str(a) for a in target.addresses] == [str(__import__("ipaddress").ip_address(ip))]
    assert (target.host, target.port) == ("public.test", 443)


@pytest.mark.parametrize("url", ["http://xn--bcher-kva.test/a", "http://bücher.test/a"])
def test_international_names_are_resolved_in_idna_form(
    url: str, fake_dns: FakeDNS, no_connect: None
) -> None:
    fake_dns["xn--bcher-kva.test"] = ["10.0.0.5"]
    err = _refused("forbidden_address", check_url, url)
    assert "10.0.0.5" in err.message
    assert fake_dns.calls == ["xn--bcher-kva.test"]


def test_allowlist_admits_internal_network_but_never_metadata(
    fake_dns: FakeDNS, no_connect: None
) -> None:
    fake_dns["data.test"] = ["10.0.0.5"]
    fake_dns["meta.test"] = ["169.254.169.254"]
    assert check_url("http://data.test/x", allow=["10.0.0.0/8"]).addresses
    assert check_url("http://data.test:8443/x", allow=["data.test:8443"]).addresses
    assert check_url("http://data.test:8443/x", allow=["10.0.0.5:8443"]).addresses
    _refused("forbidden_address", check_url, "http://data.test:8444/x", allow=["data.test:8443"])
    _refused("forbidden_address", check_url, "http://data.test/x", allow=["192.168.0.0/16"])
    _refused(
        "forbidden_address",
        check_url,
        "http://meta.test/x",
        allow=["169.254.0.0/16", "0.0.0.0/0", "meta.test:80", "169.254.169.254"],
    )


# -- metadata addresses in every spelling, whatever the allow-list holds (issue 10) ------------
_V4_METADATA = sorted(a for a in METADATA if a.version == 4)
_V6_METADATA = sorted(a for a in METADATA if a.version == 6)


def _v6(n: int) -> ipaddress.IPv6Address:
    return ipaddress.IPv6Address(n)


@st.composite
def metadata_spelling(draw: st.DrawFn) -> IPAddress:
    """A metadata address, plain or carried inside an IPv6 address that reaches it."""
    if draw(st.booleans()) and _V6_METADATA:
        return draw(st.sampled_from(_V6_METADATA))
    v4 = draw(st.sampled_from(_V4_METADATA))
    n, low = int(v4), draw(st.integers(0, (1 << 64) - 1))
    raw = v4.packed
    form = draw(st.sampled_from(["plain", "mapped", "compat", "siit", "nat64", "nat64local",
                                 "6to4", "teredo"]))
    if form == "plain":
        return v4
    if form == "mapped":
        return _v6(0xFFFF << 32 | n)
    if form == "compat":
        return _v6(n)
    if form == "siit":
        return _v6(0xFFFF << 48 | n)
    if form == "nat64":
        return _v6(0x64FF9B << 96 | n)
    if form == "6to4":
        return _v6(0x2002 << 112 | n << 80 | (low & ((1 << 80) - 1)))
    if form == "teredo":
        server = draw(st.integers(0, (1 << 32) - 1))
        return _v6(0x20010000 << 96 | server << 64 | (low & 0xFFFFFFFF) << 32 | n ^ 0xFFFFFFFF)
    # local-use NAT64 64:ff9b:1::/48, each RFC 6052 placement (byte 8 is the zero "u" octet)
    head = bytes.fromhex("0064ff9b0001") + draw(st.binary(min_size=2, max_size=2))
    plen = draw(st.sampled_from([48, 56, 64, 96]))
    body = bytearray(head + bytes(8))
    if plen == 48:
        body[6:8], body[9:11] = raw[:2], raw[2:]
    elif plen == 56:
        body[7], body[9:12] = raw[0], raw[1:]
    elif plen == 64:
        body[9:13] = raw
    else:
        body[12:16] = raw
    return ipaddress.IPv6Address(bytes(body))


@st.composite
def entry_for(draw: st.DrawFn, ip: IPAddress) -> str:
    """An allow-list entry meant to admit ``ip``: a network around it, or its host:port."""
    text = str(ip)
    kind = draw(st.sampled_from(["network", "address", "endpoint", "zone"]))
    if kind == "network":
        plen = draw(st.integers(0, ip.max_prefixlen))
        entry = str(ipaddress.ip_network(f"{text}/{plen}", strict=False))
    elif kind == "address":
        entry = text
    elif kind == "endpoint":
        entry = f"[{text}]:80" if ip.version == 6 else f"{text}:80"
    else:
        entry = f"{text}%eth0" if ip.version == 6 else text
    return entry.upper() if draw(st.booleans()) else entry


@given(data=st.data())
@settings(max_examples=300, deadline=None, derandomize=True, database=None)
def test_no_allowlist_entry_admits_any_spelling_of_a_metadata_address(data: st.DataObject) -> None:
    """Property: whatever is listed, an address that reaches a metadata address stays refused.

    Address level only: ``check_url`` gets literal addresses, so nothing is resolved or
    connected."""
    target = data.draw(metadata_spelling(), label="target")
    listed = data.draw(st.lists(metadata_spelling(), min_size=1, max_size=3), label="listed")
    entries = [data.draw(entry_for(ip)) for ip in [target, *listed]]
    entries += ["0.0.0.0/0", "::/0"] if data.draw(st.booleans()) else []
    allow = AllowList.parse(entries)
    scoped = ipaddress.ip_address(f"{target}%eth0") if target.version == 6 else target
    for ip in (target, scoped):
        assert is_metadata(ip), ip
        assert not allow.allows(str(target), 80, ip), (entries, ip)
        assert forbidden_reason(ip), ip
    host = f"[{target}]" if target.version == 6 else str(target)
    err = _refused("forbidden_address", check_url, f"http://{host}/latest/", allow=allow)
    assert "it cannot be allow-listed" in err.message


@pytest.mark.parametrize(
    "url,allow",
    [
        ("http://[::ffff:169.254.169.254]/latest/meta-data/", ["::ffff:0:0/96"]),
        ("http://[::ffff:169.254.169.254]/latest/meta-data/", ["[::ffff:169.254.169.254]:80"]),
        ("http://[::ffff:a9fe:a9fe]/", ["::ffff:169.254.169.254"]),
        ("http://[64:ff9b::169.254.169.254]/", ["64:ff9b::/96"]),
        ("http://[2002:a9fe:a9fe::1]/", ["2002::/16"]),
        ("http://[::169.254.169.254]/", ["::/96"]),
        ("http://[2001:0:4136:e378:8000:63bf:5601:5601]/", ["2001::/32"]),  # Teredo client
        ("http://[64:ff9b:1:0:a9:fea9:fe00:0]/", ["64:ff9b:1::/48"]),  # RFC 6052 /64
        ("http://169.254.170.2/v2/credentials", ["169.254.0.0/16"]),  # AWS ECS task role
        ("http://[fd00:ec2::254]/", ["fd00:ec2::254%eth0"]),
    ],
)
def test_ipv6_forms_of_metadata_addresses_stay_refused(
    url: str, allow: list[str], no_connect: None
) -> None:
    """The probe's finding: an IPv6-form entry admitted the metadata address."""
    err = _refused("forbidden_address", check_url, url, allow=allow)
    assert "cloud metadata" in err.message and "cannot be allow-listed" in err.message


def test_ipv6_form_entries_still_admit_internal_addresses(no_connect: None) -> None:
    assert check_url("http://[::ffff:10.0.0.5]/x", allow=["::ffff:0:0/96"]).addresses
    assert check_url("http://[fe80::5]:81/x", allow=["[fe80::5%eth0]:81"]).addresses
    assert check_url("http://[fe80::5]/x", allow=["fe80::%eth0/64"]).addresses
    _refused("forbidden_address", check_url, "http://[::ffff:10.0.0.5]/x", allow=["10.0.0.0/8"])


def test_dns_rebinding_connects_to_the_vetted_address(
    fake_dns: FakeDNS, canary: Loopback, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The name resolves to a public address at check time and to loopback afterwards: the
    connection goes to the vetted address (stubbed, never really opened), not to loopback."""
    fake_dns["rebind.test"] = [["93.184.216.34"], ["127.0.0.1"]]
    seen: list[str] = []

    def record(backend: Any, ip: IPAddress, port: int, **kw: Any) -> Any:
        seen.append(f"{ip}:{port}")
        raise httpcore.ConnectError("test: connection not opened")

    def boom(*args: Any, **kw: Any) -> Any:
        pytest.fail(f"a real connection was attempted: {args}")

    monkeypatch.setattr(fetch_mod, "_connect", record)
    monkeypatch.setattr(socket, "create_connection", boom)
    _refused("connection", fetch, f"http://rebind.test:{canary.port}/data.jsonl")
    assert seen == [f"93.184.216.34:{canary.port}"]
    assert fake_dns.calls == ["rebind.test"]  # resolved once, never again
    assert canary.hits == 0


def test_pinned_transport_refuses_hosts_it_did_not_vet(no_connect: None) -> None:
    import ipaddress

    target = fetch_mod.Target(
        "http://vetted.test/", "http", "vetted.test", 80, (ipaddress.ip_address("93.184.216.34"),)
    )
    with httpx.Client(transport=fetch_mod._pinned_transport(target)) as client:
        with pytest.raises(httpx.ConnectError, match="not vetted"):
            client.get("http://other.test/")
        with pytest.raises(httpx.ConnectError, match="not vetted"):
            client.get("http://vetted.test:81/")


def test_host_header_and_name_are_kept_while_the_address_is_pinned(
    fake_dns: FakeDNS, server: Loopback, connects: list[str]
) -> None:
    fake_dns["data.test"] = ["127.0.0.1"]
    with fetch(f"http://data.test:{server.port}/d.jsonl", allow=[f"data.test:{server.port}"]):
        pass
    assert server.requests == [("/d.jsonl", f"data.test:{server.port}")]
    assert connects == [f"127.0.0.1:{server.port}"]


def test_proxy_environment_is_ignored(
    monkeypatch: pytest.MonkeyPatch, canary: Loopback, server: Loopback
) -> None:
    for var in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(var, f"http://127.0.0.1:{canary.port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with fetch(f"http://127.0.0.1:{server.port}/d.jsonl", allow=[f"127.0.0.1:{server.port}"]):
        pass
    assert server.hits == 1 and canary.hits == 0


# -- pure rules -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "host,ip",
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("127.0.1", "127.0.0.1"),
        ("10.0x5", "10.0.0.5"),
        ("0", "0.0.0.0"),
        ("3232235777", "192.168.1.1"),
        ("1.2.3.4", "1.2.3.4"),
        ("example.test", None),
        ("1.2.3.4.5", None),
        ("256.1.1.1", None),
        ("08.1.1.1", None),
        ("4294967296", None),
    ],
)
def test_legacy_ipv4_spellings(host: str, ip: str | None) -> None:
    got = legacy_ipv4(host)
    assert (str(got) if got else None) == ip


def test_forbidden_reason_public_and_private() -> None:
    import ipaddress

    for public in ("93.184.216.34", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"):
        assert forbidden_reason(ipaddress.ip_address(public)) is None, public
    for private in (
        "127.0.0.1",
        "10.1.2.3",
        "::1",
        "fc00::1",
        "198.18.0.1",
        "192.0.0.8",
        "::127.0.0.1",
        "64:ff9b:1::1",
        "2001:db8::1",
        "100.127.255.255",
    ):
        assert forbidden_reason(ipaddress.ip_address(private)), private


@pytest.mark.parametrize(
    "entry",
    ["10.0.0.0/33", "host", "host:0", "host:70000", "[::1]", "a b:80", "http://x:80", "10.0.0.0/x"],
)
def test_bad_allowlist_entries_are_rejected(entry: str) -> None:
    with pytest.raises(InvalidInput):
        AllowList.parse([entry])
    with pytest.raises(InvalidInput):
        AllowList.parse(entry)  # type: ignore[arg-type]  # a string, not a list


# -- the workspace setting and the HTTP API ----------------------------------------------------
def test_allowlist_setting_is_admin_only(ws: Any, users: dict[str, User]) -> None:
    with pytest.raises(Forbidden):
        set_url_allowlist(ws, ["10.0.0.0/8"], actor=users["manager"])
    assert set_url_allowlist(ws, ["10.0.0.0/8", " Data.Internal:8443 "], actor=users["admin"]) == [
        "10.0.0.0/8",
        "data.internal:8443",
    ]


def test_api_url_import(
    app: Any, client_for: Any, canary: Loopback, server: Loopback, project: Project
) -> None:
    admin, manager, annotator = client_for("admin"), client_for("manager"), client_for("ann1")
    url = f"http://localhost:{server.port}/data.jsonl"

    # the allow-list: admins only
    assert manager.get("/api/settings/url-allowlist").status_code == 403
    assert manager.put("/api/settings/url-allowlist", json={"allow": []}).status_code == 403
    assert admin.put("/api/settings/url-allowlist", json={"allow": ["nope"]}).status_code == 422
    assert admin.get("/api/settings/url-allowlist").json() == {"allow": []}

    # annotators may not import: refused before any traffic
    r = annotator.post("/api/projects/support/imports/url", json={"url": url})
    assert r.status_code == 403

    # a bad scheme and a literal loopback address are refused at once (422), no job
    for bad in (
        "file:///etc/passwd",
        f"http://127.0.0.1:{canary.port}/x.jsonl",
        f"http://2130706433:{canary.port}/x.jsonl",
    ):
        r = manager.post("/api/projects/support/imports/url", json={"url": bad})
        assert r.status_code == 422, bad
        assert r.json()["error"] == "invalid_input"

    # a name that resolves to loopback: refused in the job
    r = manager.post(
        "/api/projects/support/imports/url", json={"url": f"http://localhost:{canary.port}/x.jsonl"}
    )
    assert r.status_code == 202
    job = app.state.jobs.wait(r.json()["id"])
    body = manager.get(f"/api/jobs/{job.id}").json()
    assert body["status"] == "failed" and body["error"]["detail"]["reason"] == "forbidden_address"
    assert "127.0.0.1" in body["message"] or "::1" in body["message"]
    assert canary.hits == 0 and server.hits == 0

    # allow-listed by the admin: imported
    r = admin.put(
        "/api/settings/url-allowlist",
        json={"allow": [f"127.0.0.1:{server.port}", f"[::1]:{server.port}"]},
    )
    assert r.status_code == 200
    r = manager.post(
        "/api/projects/support/imports/url", json={"url": url, "format": "jsonl", "id_field": "id"}
    )
    assert r.status_code == 202
    job = app.state.jobs.wait(r.json()["id"])
    body = manager.get(f"/api/jobs/{job.id}").json()
    assert body["status"] == "done", body
    assert body["result"]["added"] == 3
    items = manager.get("/api/projects/support/items?limit=500").json()["items"]
    assert {"url0", "url1", "url2"} <= {i["external_id"] for i in items}
    assert canary.hits == 0 and server.hits == 1

    # unknown fields and formats are refused
    r = manager.post("/api/projects/support/imports/url", json={"url": url, "evil": 1})
    assert r.status_code == 422
