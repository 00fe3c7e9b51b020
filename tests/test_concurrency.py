"""Many clients at once against a real server on SQLite: overlap is never exceeded."""

from __future__ import annotations

import threading
import uuid
from collections import Counter

import httpx

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
