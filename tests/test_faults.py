"""Load and crash tests against a real server process on loopback.

50 annotators at once never exceed the overlap; killing the server with SIGKILL at random
moments loses no annotation that got a 2xx; retried submits store exactly one annotation;
the database passes its integrity check afterwards. Bounded in time and requests.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from helpers import wait_until
from servers import free_port
from truelabel import Workspace
from truelabel.core import Project
from truelabel.core.backup import check

LAUNCH = ("import sys; from truelabel import Workspace; from truelabel.server.run import serve; "
          "serve(Workspace.open(sys.argv[1]), host='127.0.0.1', port=int(sys.argv[2]), "
          "workers=int(sys.argv[3]))")


class Server:
    def __init__(self, location: str, workers: int = 1) -> None:
        self.location = location
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", LAUNCH, self.location,
                                      str(self.port), str(self.workers)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if httpx.get(self.url + "/api/openapi.json", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("server did not start")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


@contextmanager
def running(ws: Workspace, workers: int = 1) -> Iterator[Server]:
    s = Server(ws.location, workers)
    s.start()
    try:
        yield s
    finally:
        s.stop()


def _team(ws: Workspace, p: Project, n: int) -> dict[str, str]:
    tokens = {}
    for i in range(n):
        u = ws.add_user(f"load{i}", "password-123")
        p.add_member(u, "annotator")
        tokens[u.username] = ws.create_token(u)
    return tokens


def test_fifty_annotators_never_exceed_overlap(ws: Workspace) -> None:
    """On PostgreSQL through two worker processes, as a team would run it."""
    p = ws.create_project("load", {"fields": [{"name": "x", "type": "choice",
                                               "options": ["a", "b"]}]}, overlap=2)
    p.import_records([{"id": f"l{i}", "text": f"load {i}"} for i in range(400)])
    tokens = _team(ws, p, 50)
    deadline = time.time() + 12
    ok: Counter[str] = Counter()
    failures: list[str] = []

    def annotator(name: str, base: str) -> None:
        with httpx.Client(base_url=base, timeout=30,
                          headers={"Authorization": f"Bearer {tokens[name]}"}) as c:
            for _ in range(200):
                if time.time() > deadline:
                    return
                r = c.post("/api/projects/load/tasks/next")
                if r.status_code == 204:
                    return
                if r.status_code != 200:
                    failures.append(r.text)
                    return
                s = c.post(f"/api/projects/load/tasks/{r.json()['id']}/submit",
                           json={"value": {"x": "a"}, "idempotency_key": uuid.uuid4().hex})
                if s.status_code == 200:
                    ok[name] += 1
                else:
                    failures.append(s.text)

    with running(ws, workers=1 if ws.db.is_sqlite else 2) as server:
        threads = [threading.Thread(target=annotator, args=(n, server.url)) for n in tokens]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    assert not failures, failures[:3]
    total = sum(ok.values())
    assert total > 100
    per_item: Counter[int] = Counter()
    for item in p.items(limit=500):
        anns = p.annotations(item["id"])
        assert len({a["user_id"] for a in anns}) == len(anns)  # nobody twice on one item
        per_item[len(anns)] += 1
    assert max(k for k in per_item if per_item[k]) <= 2  # overlap never exceeded
    assert p.status()["submitted"] == total
    assert check(ws) == []


def test_sigkill_loses_no_acknowledged_annotation(ws: Workspace) -> None:
    p = ws.create_project("crash", {"fields": [{"name": "x", "type": "text"}]}, overlap=1)
    p.import_records([{"id": f"k{i}", "text": f"crash {i}"} for i in range(3000)])
    tokens = _team(ws, p, 12)
    acked: dict[str, tuple[str, str]] = {}  # key -> (user, value)
    lock = threading.Lock()
    stop = threading.Event()
    rng = random.Random(1234)

    def annotator(name: str, server: Server) -> None:
        h = {"Authorization": f"Bearer {tokens[name]}"}
        pending: tuple[int, str, str] | None = None  # a submit whose answer we never saw
        for _ in range(2000):
            if stop.is_set():
                return
            try:
                with httpx.Client(base_url=server.url, timeout=5, headers=h) as c:
                    if pending is None:
                        r = c.post("/api/projects/crash/tasks/next")
                        if r.status_code == 204:
                            return
                        r.raise_for_status()
                        task = r.json()["id"]
                        key = uuid.uuid4().hex
                        pending = (task, key, f"{name}:{key[:8]}")
                    task, key, value = pending
                    s = c.post(f"/api/projects/crash/tasks/{task}/submit",
                               json={"value": {"x": value}, "idempotency_key": key})
                    if s.status_code == 200:
                        assert s.json()["value"] == {"x": value}
                        with lock:
                            acked[key] = (name, value)
                        pending = None
                    elif s.status_code in (404, 409):
                        pending = None  # lease gone while the server was down: start over
                    else:
                        s.raise_for_status()
            except httpx.HTTPError:
                time.sleep(0.1)  # server down: retry the same request with the same key

    server = Server(ws.location)
    server.start()
    threads = [threading.Thread(target=annotator, args=(n, server)) for n in tokens]
    for t in threads:
        t.start()
    try:
        for _ in range(4):
            time.sleep(rng.uniform(0.5, 1.5))
            server.kill()
            server.start()
        time.sleep(1.0)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
        server.stop()
    assert len(acked) > 50
    all_anns = []
    after = 0
    while page := p.items(limit=500, after=after):
        for item in page:
            all_anns += p.annotations(item["id"])
        after = page[-1]["id"]
    stored: dict[str, Any] = {a["value"]["x"]: a for a in all_anns}
    for name, value in acked.values():
        assert value in stored, f"acknowledged annotation {value} was lost"
        assert stored[value]["username"] == name
    values = [a["value"]["x"] for a in all_anns]
    assert len(values) == len(set(values))  # retried submits stored once
    assert p.status()["submitted"] == len(values)
    assert check(ws) == []


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL is POSIX")
def test_retried_submit_after_lost_response_is_stored_once(ws: Workspace) -> None:
    p = ws.create_project("retry", {"fields": [{"name": "x", "type": "text"}]})
    p.import_records([{"text": "one"}, {"text": "two"}])
    tokens = _team(ws, p, 1)
    with running(ws) as server:
        h = {"Authorization": f"Bearer {tokens['load0']}"}
        with httpx.Client(base_url=server.url, headers=h) as c:
            t = c.post("/api/projects/retry/tasks/next").json()
            body = {"value": {"x": "v"}, "idempotency_key": "once"}
            first = c.post(f"/api/projects/retry/tasks/{t['id']}/submit", json=body).json()
            for _ in range(5):
                again = c.post(f"/api/projects/retry/tasks/{t['id']}/submit", json=body)
                assert again.status_code == 200 and again.json()["id"] == first["id"]
    assert len(p.annotations(t["item_id"])) == 1


def _tcp_rows(port: int) -> list[list[str]]:
    """Rows of /proc/net/tcp whose local port is ``port``."""
    with open("/proc/net/tcp") as f:
        rows = [line.split() for line in f.readlines()[1:]]
    return [r for r in rows if int(r[1].split(":")[1], 16) == port]


def _listeners(port: int) -> int:
    """Listening TCP sockets on ``port`` (IPv4)."""
    return sum(1 for r in _tcp_rows(port) if r[3] == "0A")


def _children(pid: int) -> list[int]:
    kids = []
    for d in os.listdir("/proc"):
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
        except (OSError, ValueError):
            continue
        if d.isdigit() and int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            kids.append(int(d))
    return kids


def _served_by(port: int, pids: list[int]) -> dict[int, set[int]]:
    """For each process, the client ports of the established connections on ``port`` that
    it holds (matched through the sockets' inodes)."""
    peer = {r[9]: int(r[2].split(":")[1], 16) for r in _tcp_rows(port) if r[3] == "01"}
    out: dict[int, set[int]] = {}
    for pid in pids:
        out[pid] = set()
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:[") and link[8:-1] in peer:
                out[pid].add(peer[link[8:-1]])
    return out


def _wait_for(cond: Any, what: str, timeout: float = 30) -> None:
    assert wait_until(cond, timeout), f"timed out waiting for {what}"


@pytest.mark.skipif(not os.path.exists("/proc/net/tcp"), reason="reads Linux's /proc/net/tcp")
def test_workers_share_the_port_and_stop_with_their_parent(ws: Workspace) -> None:
    """``serve --workers 2``: the parent holds the one listening socket and hands each
    connection to the worker with the fewest open (10 at once: 5 and 5; when one worker's
    clients leave, new ones go to it); all requests answered; SIGKILL of the parent takes
    the workers down too (port free again). SQLite refuses several workers and says why."""
    if ws.db.is_sqlite:
        r = subprocess.run([sys.executable, "-c", LAUNCH, ws.location, str(free_port()), "2"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode != 0 and "Several workers are for PostgreSQL" in r.stderr
        return
    p = ws.create_project("w", {"fields": [{"name": "x", "type": "choice",
                                            "options": ["a", "b"]}]}, overlap=1)
    p.import_records([{"id": f"w{i}", "text": f"w {i}"} for i in range(40)])
    token = next(iter(_team(ws, p, 1).values()))
    with running(ws, workers=2) as server:
        assert server.proc is not None
        assert _listeners(server.port) == 1
        kids = _children(server.proc.pid)

        def served() -> dict[int, set[int]]:
            return {k: v for k, v in _served_by(server.port, kids).items() if v}

        time.sleep(0.5)  # the start-up probe's connections closed and reported
        clients = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(10)]
        _wait_for(lambda: sum(map(len, served().values())) == 10, "10 connections served")
        by_worker = served()
        assert sorted(map(len, by_worker.values())) == [5, 5], by_worker
        # the first worker's clients leave; the next four connect to it, not 2 and 2
        first, second = sorted(by_worker)
        for c in clients:
            if c.getsockname()[1] in by_worker[first]:
                c.close()
        _wait_for(lambda: len(served().get(first, ())) == 0, "the closes to be seen")
        time.sleep(0.5)  # the worker's reports reach the parent
        clients += [socket.create_connection(("127.0.0.1", server.port)) for _ in range(4)]
        _wait_for(lambda: sum(map(len, served().values())) == 9, "4 more served")
        assert {k: len(v) for k, v in served().items()} == {first: 4, second: 5}
        for c in clients:
            c.close()
        seen = set()
        for i in range(30):  # a fresh connection each time
            with httpx.Client(base_url=server.url, timeout=30,
                              headers={"Authorization": f"Bearer {token}"}) as c:
                t = c.post("/api/projects/w/tasks/next").json()
                s = c.post(f"/api/projects/w/tasks/{t['id']}/submit",
                           json={"value": {"x": "a"}, "idempotency_key": f"w{i}"})
                assert s.status_code == 200, s.text
                seen.add(t["item_id"])
        assert len(seen) == 30 and p.status()["submitted"] == 30
        server.kill()  # the parent only
        _wait_for(lambda: not any(os.path.exists(f"/proc/{k}") and
                                  "Z" not in Path(f"/proc/{k}/stat").read_text().split()[2]
                                  for k in kids), "the workers to stop", timeout=15)
        assert _listeners(server.port) == 0


def test_a_bad_async_connection_setting_is_refused_with_the_reason(ws: Workspace) -> None:
    """``TRUELABEL_ASYNC_CONNECTIONS`` (PostgreSQL's hot path) must be 1-64: anything else is
    refused when the workspace opens, naming the variable and the fix; SQLite ignores it."""
    from click.testing import CliRunner

    from truelabel.cli.main import main

    for bad in ("zero", "0", "-3", "65", "2.5", ""):
        r = CliRunner().invoke(main, ["status", ws.location],
                               env={"TRUELABEL_ASYNC_CONNECTIONS": bad})
        if ws.db.is_sqlite:
            assert r.exit_code == 0, r.output
        else:
            assert r.exit_code == 1
            assert "TRUELABEL_ASYNC_CONNECTIONS must be a whole number from 1 to 64" in r.output
            assert "unset it for the default" in r.output
    r = CliRunner().invoke(main, ["status", ws.location], env={"TRUELABEL_ASYNC_CONNECTIONS": "4"})
    assert r.exit_code == 0, r.output
