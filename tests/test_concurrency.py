"""Many clients at once against a real server on SQLite: overlap is never exceeded."""

from __future__ import annotations

import threading
import uuid
from collections import Counter

import httpx
import pytest

from servers import live_server
from truelabel import Workspace
from truelabel.core import Project
from truelabel.domain.models import User

CLIENTS = 32
ITEMS = 120


def test_two_annotators_overlap_one_never_share_an_item(
    ws: Workspace, project: Project, users: dict[str, User]
) -> None:
    project.import_records([{"id": f"c{i}", "text": f"concurrent {i}"} for i in range(ITEMS)])
    total = project.status()["items"]
    tokens = {n: ws.create_token(users[n]) for n in ("ann1", "ann2")}
    handed: dict[str, set[int]] = {"ann1": set(), "ann2": set()}
    ok_submits: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    errors: list[str] = []
    lock = threading.Lock()

    def worker(name: str, base: str) -> None:
        h = {"Authorization": f"Bearer {tokens[name]}"}
        with httpx.Client(base_url=base, headers=h, timeout=30) as c:
            for _ in range(2 * ITEMS):  # bounded
                r = c.post("/api/projects/support/tasks/next")
                with lock:
                    statuses[r.status_code] += 1
                if r.status_code == 204:
                    return
                if r.status_code != 200:
                    errors.append(r.text)
                    return
                t = r.json()
                with lock:
                    handed[name].add(t["item_id"])
                s = c.post(
                    f"/api/projects/support/tasks/{t['id']}/submit",
                    json={"value": {"intent": "refund"}, "idempotency_key": uuid.uuid4().hex},
                )
                with lock:
                    statuses[s.status_code] += 1
                    if s.status_code == 200:
                        ok_submits[name] += 1
                    elif s.status_code != 409:  # another tab of the same user won the race
                        errors.append(s.text)

    with live_server(ws) as base:
        threads = [
            threading.Thread(target=worker, args=("ann1" if i % 2 else "ann2", base))
            for i in range(CLIENTS)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    assert not errors, errors[:3]
    assert not any(s >= 500 for s in statuses)
    assert handed["ann1"].isdisjoint(handed["ann2"])
    assert len(handed["ann1"] | handed["ann2"]) == total
    # every 200 is exactly one stored annotation, one per item
    status = project.status()
    assert status["submitted"] == sum(ok_submits.values()) == total
    per_item = [len(project.annotations(i)) for i in handed["ann1"] | handed["ann2"]]
    assert set(per_item) == {1}


def test_server_stays_responsive_while_an_import_holds_the_database(
        ws: Workspace, project: Project, users: dict[str, User]) -> None:
    """The annotators' loop never blocks the event loop on the write lock: while another
    thread writes (as an import does), reads answer at once and next waits its turn."""
    import time

    if not ws.db.is_sqlite:
        pytest.skip("PostgreSQL has no process-wide write lock to wait on")
    token = ws.create_token(users["ann1"])
    h = {"Authorization": f"Bearer {token}"}
    with live_server(ws) as base, httpx.Client(base_url=base, headers=h, timeout=30) as c:
        held = threading.Event()
        release = threading.Event()

        def long_write() -> None:
            with ws.db.write():
                held.set()
                release.wait(10)

        writer = threading.Thread(target=long_write)
        writer.start()
        held.wait(5)
        result: dict[str, float] = {}

        def claim() -> None:
            t0 = time.perf_counter()
            r = c.post("/api/projects/support/tasks/next")
            result["next_status"], result["next_s"] = r.status_code, time.perf_counter() - t0

        claimer = threading.Thread(target=claim)
        claimer.start()
        time.sleep(0.3)
        t0 = time.perf_counter()
        with httpx.Client(base_url=base, headers=h, timeout=30) as other:
            assert other.get("/api/me").status_code == 200
        assert httpx.get(f"{base}/login", timeout=30).status_code == 200
        assert time.perf_counter() - t0 < 1.0  # not stuck behind the write lock
        assert "next_s" not in result  # the claim is still waiting for the writer
        release.set()
        writer.join()
        claimer.join(10)
        assert result["next_status"] == 200


def test_a_busy_write_lock_is_waited_for_on_the_loop_not_in_a_thread(
        ws: Workspace, project: Project) -> None:
    """Steps of the annotators' loop that find the SQLite write lock busy (another thread's
    brief write: a login, a token's last-use time) wait for it and then run on the event
    loop, as before the write. (They used to run in a worker thread, which held the lock
    while it worked, so each next step found it busy and followed: one write turned the
    loop into a thread convoy at about 60 % of the throughput.)"""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor
    from types import SimpleNamespace

    from truelabel.server.api.tasks import in_lane

    if not ws.db.is_sqlite:
        pytest.skip("PostgreSQL has no process-wide write lock to wait on")
    state = SimpleNamespace(workspace=ws)
    ran_on: list[int] = []

    def step() -> None:  # writes, as next and submit do
        ran_on.append(threading.get_ident())
        with ws.db.write(durable=False):
            pass

    async def main() -> int:
        held, release = threading.Event(), threading.Event()

        def brief_write() -> None:
            with ws.db.write():
                held.set()
                release.wait(10)

        writer = threading.Thread(target=brief_write)
        writer.start()
        assert held.wait(10)
        waiting = [asyncio.ensure_future(in_lane(state, step)) for _ in range(3)]
        await asyncio.sleep(0.05)
        assert ran_on == []  # all of them wait for the writer
        release.set()
        await asyncio.gather(*waiting)
        await asyncio.gather(*(in_lane(state, step) for _ in range(3)))
        writer.join(10)
        return threading.get_ident()

    with ThreadPoolExecutor(1) as pool:  # a loop of its own (browser tests leave one running)
        loop_thread = pool.submit(asyncio.run, main()).result(timeout=60)
    assert ran_on == [loop_thread] * 6
