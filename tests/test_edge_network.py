"""Which Host names the server answers and which client address it believes, on a real
server on loopback; DNS rebinding against the server and against the URL-import fetcher.

Names that "resolve" here resolve through a stub of ``socket.getaddrinfo`` (the hook the
fetcher uses); the only connections made are to 127.0.0.1.
"""

from __future__ import annotations

import http.server
import json
import socket
import threading
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from helpers import PASSWORD
from servers import live_server
from truelabel import Workspace
from truelabel.domain.errors import InvalidInput
from truelabel.domain.models import User
from truelabel.net import fetch as fetch_mod
from truelabel.server.app import create_app
from truelabel.server.headers import SECURITY_HEADERS
from truelabel.server.hosts import AllowedHosts
from truelabel.server.limits import EdgeSettings
from truelabel.server.run import uvicorn_options

REBIND = "rebind.example.com"  # a public-looking name the stub resolves to loopback


def serving(ws: Workspace, *, forwarded_allow_ips: str = "") -> Any:
    """The app as ``truelabel serve`` runs it on 127.0.0.1 (same edge defaults and uvicorn
    options), in a thread."""
    return live_server(ws, app=create_app(ws, edge=EdgeSettings().for_bind("127.0.0.1")),
                       **uvicorn_options("127.0.0.1", 0, "warning", forwarded_allow_ips))


@pytest.fixture
def stub_dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """``getaddrinfo`` answers names set here with their next address, in turn (the last one
    repeats); other names resolve normally."""
    table: dict[str, list[str]] = {}
    real = socket.getaddrinfo

    def stub(host: Any, port: Any, *args: Any, **kw: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in table:
            return real(host, port, *args, **kw)
        answers = table[name]
        ip = answers.pop(0) if len(answers) > 1 else answers[0]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port or 0))]

    monkeypatch.setattr(socket, "getaddrinfo", stub)
    return table


def test_allowed_hosts_defaults_follow_the_bind_address() -> None:
    loop = AllowedHosts.for_bind("127.0.0.1")
    for ok in (b"127.0.0.1:8000", b"localhost", b"LOCALHOST:1", b"[::1]:8000", b"localhost."):
        assert loop.allows(ok), ok
    for bad in (REBIND.encode(), b"127.0.0.1.nip.io", b"evil.localhost", b"", None):
        assert not loop.allows(bad), bad
    assert AllowedHosts.for_bind("::1").allows(b"localhost:9")
    lan = AllowedHosts.for_bind("10.1.2.3")
    assert lan.allows(b"10.1.2.3:8000") and not lan.allows(b"localhost")
    for wildcard in ("0.0.0.0", "::"):
        with pytest.raises(InvalidInput, match="--allowed-hosts"):
            AllowedHosts.for_bind(wildcard)
    named = AllowedHosts.parse("labels.example.org, *.team.example.org 10.0.0.5:8443")
    for ok in (b"labels.example.org", b"a.team.example.org:443", b"10.0.0.5"):
        assert named.allows(ok), ok
    for bad in (b"team.example.org", b"example.org", b"labels.example.org.evil.test"):
        assert not named.allows(bad), bad
    assert AllowedHosts.parse("*").allows(b"anything")
    for bad_entry in ("", "a b/c", "*.*", "ex ample$"):
        with pytest.raises(InvalidInput):
            AllowedHosts.parse(bad_entry)


def test_dns_rebinding_is_refused_by_the_server(
        ws: Workspace, users: dict[str, User], stub_dns: dict[str, list[str]]) -> None:
    """A page on rebind.example.com whose name now resolves to 127.0.0.1 reaches the
    server, but with ``Host: rebind.example.com``: 400 in the one error shape (security
    headers included) before any route runs — also for a valid API token; the server's own
    names are answered."""
    stub_dns[REBIND] = ["127.0.0.1"]
    token = ws.create_token(users["admin"])
    with serving(ws) as url:
        port = int(url.rsplit(":", 1)[1])
        ip = socket.getaddrinfo(REBIND, port)[0][4][0]
        assert ip == "127.0.0.1"
        with httpx.Client(base_url=f"http://{ip}:{port}", timeout=10) as c:
            for path in ("/api/me", "/api/projects", "/login"):
                r = c.get(path, headers={"host": f"{REBIND}:{port}",
                                         "authorization": f"Bearer {token}"})
                assert r.status_code == 400, (path, r.text)
                assert r.json()["error"] == "host_not_allowed"
                assert "--allowed-hosts" in r.json()["message"]
                for k, v in SECURITY_HEADERS.items():
                    assert r.headers[k] == v
            r = c.post("/api/login", headers={"host": REBIND},
                       json={"username": "admin", "password": PASSWORD})
            assert r.status_code == 400 and "tl_session" not in r.cookies
            for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"):
                r = c.get("/api/me", headers={"host": host, "authorization": f"Bearer {token}"})
                assert r.status_code == 200, (host, r.text)


class _Redirector(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - the http.server hook
        self.hits.append(self.path)
        if self.path == "/start":
            self.send_response(302)
            self.send_header("location", f"http://{REBIND}:{self.server.server_port}/data.jsonl")
            self.send_header("content-length", "0")
            self.end_headers()
        else:
            body = b'{"id": "r1", "text": "rebound"}\n'
            self.send_response(200)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def test_the_fetcher_cannot_be_rebound_to_a_refused_address(
        stub_dns: dict[str, list[str]], connects: list[str]) -> None:
    """The resolver answers an allowed address first (127.0.0.1, allow-listed by address
    and port) and a refused one after (10.0.0.7, private; it is never connected to): the
    first fetch connects to the vetted address only, resolving once; its redirect back to
    the same name is resolved again, refused, and not followed; a second fetch is refused
    before connecting."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Redirector)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    port = httpd.server_port
    stub_dns[REBIND] = ["127.0.0.1", "10.0.0.7"]
    allow = [f"127.0.0.1:{port}"]
    try:
        with pytest.raises(InvalidInput) as refused:
            fetch_mod.safe_fetch(f"http://{REBIND}:{port}/start", allow=allow,
                                 max_bytes=1 << 20, timeout=10)
        assert refused.value.detail["reason"] == "forbidden_address"
        assert "10.0.0.7" in refused.value.message
        assert connects == [f"127.0.0.1:{port}"]
        assert _Redirector.hits == ["/start"]
        with pytest.raises(InvalidInput) as again:
            fetch_mod.safe_fetch(f"http://{REBIND}:{port}/data.jsonl", allow=allow,
                                 max_bytes=1 << 20, timeout=10)
        assert again.value.detail["reason"] == "forbidden_address"
        assert connects == [f"127.0.0.1:{port}"] and _Redirector.hits == ["/start"]
    finally:
        httpd.shutdown()
        httpd.server_close()


def _failed_login_addresses(ws: Workspace, admin: User) -> list[str]:
    out = []
    for e in ws.audit_log(actor=admin, action="login.failed"):
        detail = json.loads(e["detail"]) if isinstance(e["detail"], str) else e["detail"]
        out.append(detail["address"])
    return out


def test_forwarded_for_is_believed_only_from_configured_proxies(
        ws: Workspace, users: dict[str, User]) -> None:
    """By default nobody's X-Forwarded-For is believed (uvicorn alone trusts 127.0.0.1):
    a client rotating the header stays 127.0.0.1 in the audit log (and so in the login
    throttle, which keys on the same address); with ``--forwarded-allow-ips 127.0.0.1``
    (a proxy on loopback) the header is the client's address."""
    bad = {"username": "ann1", "password": "wrong-password"}
    with serving(ws) as url, httpx.Client(base_url=url, timeout=10) as c:
        for i in range(3):
            r = c.post("/api/login", json=bad, headers={"x-forwarded-for": f"203.0.113.{i}"})
            assert r.status_code == 401
    assert set(_failed_login_addresses(ws, users["admin"])) == {"127.0.0.1"}
    with serving(ws, forwarded_allow_ips="127.0.0.1") as url, \
            httpx.Client(base_url=url, timeout=10) as c:
        r = c.post("/api/login", json=bad, headers={"x-forwarded-for": "198.51.100.7"})
        assert r.status_code == 401
    assert _failed_login_addresses(ws, users["admin"])[-1] == "198.51.100.7"


def test_serve_passes_the_edge_settings_on(ws: Workspace, monkeypatch: pytest.MonkeyPatch
                                          ) -> None:
    """``truelabel serve``: forwarded headers off unless proxies are named (uvicorn's own
    FORWARDED_ALLOW_IPS does not switch them on); options and TRUELABEL_* variables reach
    the app; a wildcard bind without allowed hosts refuses to start and says what to set."""
    from truelabel.cli.main import main
    from truelabel.server import run

    seen: dict[str, Any] = {}

    def fake_run(app: Any, **options: Any) -> None:
        seen.update(options, edge=app.edge)

    monkeypatch.setattr(run.uvicorn, "run", fake_run)
    env = {"FORWARDED_ALLOW_IPS": "*"}
    r = CliRunner().invoke(main, ["serve", ws.location], env=env)
    assert r.exit_code == 0, r.output
    assert seen["proxy_headers"] is False
    assert seen["edge"].allowed_hosts.allows(b"localhost:8000")
    assert seen["edge"].max_json_body == 1 << 20
    r = CliRunner().invoke(main, ["serve", ws.location, "--max-json-body", "2MiB"], env={
        "TRUELABEL_FORWARDED_ALLOW_IPS": "10.0.0.2", "TRUELABEL_MAX_UPLOAD_BODY": "4GiB",
        "TRUELABEL_ALLOWED_HOSTS": "labels.example.org"})
    assert r.exit_code == 0, r.output
    assert seen["proxy_headers"] is True and seen["forwarded_allow_ips"] == "10.0.0.2"
    edge = seen["edge"]
    assert edge.max_json_body == 2 << 20 and edge.max_upload_body == 4 << 30
    assert edge.allowed_hosts.allows(b"labels.example.org")
    assert not edge.allowed_hosts.allows(b"localhost")
    r = CliRunner().invoke(main, ["serve", ws.location, "--host", "0.0.0.0"])
    assert r.exit_code != 0 and "--allowed-hosts" in r.output + str(r.exception)
    r = CliRunner().invoke(main, ["serve", ws.location, "--max-json-body", "lots"])
    assert r.exit_code == 1 and "not a size" in r.output
