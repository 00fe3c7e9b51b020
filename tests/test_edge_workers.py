"""The edge checks hold in ``truelabel serve --workers 2`` (PostgreSQL), where each worker
process serves connections the parent hands it: oversized bodies, forged forwarded
headers, foreign Host names — and a normal session still works."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from typing import Any

import httpx
import pytest

from helpers import PASSWORD
from servers import free_port, wait_until_serving
from truelabel import Workspace

CLI = "from truelabel.cli.main import main; main()"


def _raw(port: int, head: str, body: bytes = b"") -> tuple[int, dict[str, Any]]:
    """One request on a fresh connection; the answer's status and JSON body."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(head.encode() + body)
        data = b""
        while b"\r\n\r\n" not in data:
            data += s.recv(65536)
        top, _, rest = data.partition(b"\r\n\r\n")
        length = next(int(line.split(b":")[1]) for line in top.split(b"\r\n")
                      if line.lower().startswith(b"content-length:"))
        while len(rest) < length:
            rest += s.recv(65536)
    return int(top.split()[1]), json.loads(rest[:length])


def _audit_addresses(ws: Workspace) -> list[str]:
    admin = ws.get_user("boss")
    out = []
    for e in ws.audit_log(actor=admin, action="login.failed"):
        detail = json.loads(e["detail"]) if isinstance(e["detail"], str) else e["detail"]
        out.append(detail["address"])
    return out


def test_edge_checks_hold_with_two_workers(ws: Workspace) -> None:
    if ws.db.is_sqlite:
        pytest.skip("several workers are for PostgreSQL (the PostgreSQL pass runs this)")
    p = ws.create_project("edge", {"fields": [{"name": "x", "type": "choice",
                                               "options": ["a", "b"]}]}, overlap=1)
    p.import_records([{"id": f"e{i}", "text": f"e {i}"} for i in range(10)])
    p.add_member(ws.add_user("ann", PASSWORD), "annotator")
    ws.add_user("boss", PASSWORD, role="admin")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-c", CLI, "serve", ws.location, "--port",
                             str(port), "--workers", "2"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_serving(url, proc)
        host = f"Host: 127.0.0.1:{port}\r\n"
        for _ in range(2):  # fresh connections: both workers answer
            status, body = _raw(port, f"POST /api/projects/edge/tasks/next HTTP/1.1\r\n{host}"
                                "Content-Type: application/json\r\n"
                                f"Content-Length: {1 << 30}\r\n\r\n")
            assert status == 413 and body["error"] == "body_too_large"
            chunk = b"%x\r\n%b\r\n" % (1 << 20, b"0" * (1 << 20))
            status, body = _raw(port, f"POST /api/login HTTP/1.1\r\n{host}"
                                "Content-Type: application/json\r\n"
                                "Transfer-Encoding: chunked\r\n\r\n", chunk * 2)
            assert status == 413 and body["error"] == "body_too_large"
            status, body = _raw(port, "GET /api/me HTTP/1.1\r\n"
                                f"Host: rebind.example.com:{port}\r\n\r\n")
            assert status == 400 and body["error"] == "host_not_allowed"
            with httpx.Client(base_url=url, timeout=30) as c:
                r = c.post("/api/login", json={"username": "ann", "password": "wrong-pass"},
                           headers={"x-forwarded-for": "203.0.113.77"})
                assert r.status_code == 401
        assert set(_audit_addresses(ws)) == {"127.0.0.1"}
        for i in range(2):
            with httpx.Client(base_url=url, timeout=30) as c:
                r = c.post("/api/login", json={"username": "ann", "password": PASSWORD})
                assert r.status_code == 200, r.text
                csrf = {"x-csrf-token": r.json()["csrf_token"]}
                t = c.post("/api/projects/edge/tasks/next", headers=csrf)
                assert t.status_code == 200, t.text
                s = c.post(f"/api/projects/edge/tasks/{t.json()['id']}/submit", headers=csrf,
                           json={"value": {"x": "a"}, "idempotency_key": f"edge{i}"})
                assert s.status_code == 200, s.text
        assert p.status()["submitted"] == 2
    finally:
        proc.terminate()
        proc.wait(timeout=30)
