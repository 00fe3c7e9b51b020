"""Durable jobs: state in the ``jobs`` table, cancel, restart, download, and survival of a
server killed mid-export (a real ``truelabel serve`` subprocess, SIGKILLed)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

import truelabel
from helpers import PASSWORD, SCHEMA, error_body, make_items
from servers import free_port, wait_until_serving
from truelabel import Workspace
from truelabel.core import Project
from truelabel.core.jobs import INTERRUPTED, TEST_DELAY_ENV, JobService, exports_dir
from truelabel.server.app import create_app
from truelabel.server.jobs import JobRunner
from truelabel.store import jobs as job_store

CLI = "from truelabel.cli.main import main; main()"


def _exports(ws: Workspace) -> Path:
    return exports_dir(ws)


def _setup(ws: Workspace, n: int = 300) -> tuple[Project, str]:
    p = ws.create_project("jobs", SCHEMA, overlap=1)
    p.import_records(make_items(n))
    mgr = ws.add_user("mgr", PASSWORD, role="manager")
    p.add_member(mgr, "manager")
    return p, ws.create_token(mgr)


@contextmanager
def _serve(ws: Workspace, cwd: Path, env: dict[str, str]) -> Iterator[tuple[str, Any]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    src = str(Path(truelabel.__file__).parents[1])  # this checkout's code, from any cwd
    path = os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])
    proc = subprocess.Popen([sys.executable, "-c", CLI, "serve", ws.location, "--port",
                             str(port)], cwd=cwd, env={**os.environ, **env, "PYTHONPATH": path},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_serving(url, proc)
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _poll(get: Any, until: Any, timeout: float = 60) -> dict[str, Any]:
    deadline = time.time() + timeout
    while True:
        body: dict[str, Any] = get()
        if until(body):
            return body
        assert time.time() < deadline, body
        time.sleep(0.1)


def test_export_job_survives_a_killed_server(ws: Workspace, tmp_path: Path) -> None:
    p, token = _setup(ws)
    auth = {"Authorization": f"Bearer {token}"}
    folder = _exports(ws)
    with _serve(ws, tmp_path, {TEST_DELAY_ENV: "30"}) as (url, proc):
        r = httpx.post(f"{url}/api/projects/jobs/jobs/export", json={"format": "jsonl"},
                       headers=auth)
        assert r.status_code == 202, r.text
        job_id = r.json()["id"]
        # mid-export: the first batch is in the temp file, the job sleeps in its progress
        _poll(lambda: {"parts": list(folder.glob(f".job-{job_id}.*"))},
              lambda b: b["parts"])
        running = httpx.get(f"{url}/api/jobs/{job_id}", headers=auth).json()
        assert running["status"] == "running" and running["restartable"] is False
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    assert not (folder / f"job-{job_id}.jsonl").exists()  # never half-written

    with _serve(ws, tmp_path, {}) as (url, _):
        body = httpx.get(f"{url}/api/jobs/{job_id}", headers=auth).json()
        assert body["status"] == "failed" and body["message"] == INTERRUPTED
        assert body["error"]["error"] == "interrupted" and body["restartable"] is True
        assert not list(folder.glob(f".job-{job_id}.*"))  # the partial file is removed
        assert error_body(httpx.get(f"{url}/api/jobs/{job_id}/download", headers=auth),
                          404)["message"].endswith("(restart it).")
        listed = httpx.get(f"{url}/api/jobs", params={"project": "jobs"}, headers=auth).json()
        assert [j["id"] for j in listed] == [job_id]

        r = httpx.post(f"{url}/api/jobs/{job_id}/restart", headers=auth)
        assert r.status_code == 202 and r.json()["attempts"] == 2
        done = _poll(lambda: httpx.get(f"{url}/api/jobs/{job_id}", headers=auth).json(),
                     lambda b: b["status"] != "running")
        assert done["status"] == "done", done
        assert done["result"]["items"] == 300 and done["download"] is True
        got = httpx.get(f"{url}/api/jobs/{job_id}/download", headers=auth)
        assert got.status_code == 200
        lines = got.content.decode().splitlines()
        assert len(lines) == 300 and json.loads(lines[0])["data"]["text"]
        assert "jobs.jsonl" in got.headers["content-disposition"]


@pytest.fixture
def client(ws: Workspace) -> Iterator[tuple[TestClient, Any, Project]]:
    p, token = _setup(ws, n=50)
    app = create_app(ws)
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as c:
        yield c, app, p


def test_cancel_an_export_then_restart_it(client: Any, monkeypatch: pytest.MonkeyPatch,
                                          ws: Workspace, tmp_path: Path) -> None:
    c, app, p = client
    monkeypatch.setenv(TEST_DELAY_ENV, "1")
    job = c.post("/api/projects/jobs/jobs/export", json={"format": "parquet"}).json()
    assert job["status"] == "running" and job["kind"] == "export"
    r = c.post(f"/api/jobs/{job['id']}/cancel")
    assert r.status_code == 200 and r.json()["cancel_requested"] is True
    end = app.state.jobs.wait(job["id"]).to_dict()
    assert end["status"] == "cancelled" and end["restartable"] is True
    assert end["error"]["error"] == "cancelled"
    folder = _exports(ws)
    assert not list(folder.glob(f"*job-{job['id']}.*"))  # no file, not even a partial one
    error_body(c.post(f"/api/jobs/{job['id']}/cancel"), 409)

    monkeypatch.delenv(TEST_DELAY_ENV)
    assert c.post(f"/api/jobs/{job['id']}/restart").status_code == 202
    end = app.state.jobs.wait(job["id"]).to_dict()
    assert end["status"] == "done" and end["result"]["items"] == 50
    assert c.get(f"/api/jobs/{job['id']}/download").content[:4] == b"PAR1"
    error_body(c.post(f"/api/jobs/{job['id']}/restart"), 409)  # done: start a new one


def test_cancel_an_upload_import_keeps_nothing(client: Any,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    c, app, p = client
    monkeypatch.setenv(TEST_DELAY_ENV, "1")
    data = "\n".join(json.dumps({"id": f"u{i}", "text": f"up {i}"}) for i in range(20))
    job = c.post("/api/projects/jobs/imports", files={"file": ("u.jsonl", data)}).json()
    c.post(f"/api/jobs/{job['id']}/cancel")
    end = app.state.jobs.wait(job["id"]).to_dict()
    assert end["status"] == "cancelled"
    assert end["restartable"] is False  # the uploaded file is not kept
    assert p.status()["items"] == 50
    body = error_body(c.post(f"/api/jobs/{job['id']}/restart"), 409)
    assert "upload the file again" in body["message"]


def test_quality_report_job(client: Any) -> None:
    c, app, p = client
    job = c.post("/api/projects/jobs/jobs/quality-report", json={"resamples": 20}).json()
    end = app.state.jobs.wait(job["id"]).to_dict()
    assert end["status"] == "done" and end["result"]["report"]["project"] == "jobs"


def test_jobs_are_private_to_their_owner(
    client: Any, ws: Workspace
) -> None:
    c, app, p = client
    job = c.post("/api/projects/jobs/jobs/export", json={}).json()
    app.state.jobs.wait(job["id"])
    ann = ws.add_user("ann", PASSWORD)
    p.add_member(ann, "annotator")
    other = TestClient(app, headers={"Authorization": f"Bearer {ws.create_token(ann)}"})
    error_body(other.get(f"/api/jobs/{job['id']}"), 404)
    error_body(other.post(f"/api/jobs/{job['id']}/restart"), 404)
    error_body(other.get(f"/api/jobs/{job['id']}/download"), 404)
    error_body(other.post("/api/projects/jobs/jobs/export", json={}), 403)
    assert other.get("/api/jobs").json() == []
    mgr2 = ws.add_user("mgr2", PASSWORD, role="manager")
    p.add_member(mgr2, "manager")
    colleague = TestClient(app, headers={"Authorization": f"Bearer {ws.create_token(mgr2)}"})
    error_body(colleague.get(f"/api/jobs/{job['id']}"), 404)
    assert colleague.get("/api/jobs", params={"project": "jobs"}).json() == []
    root = ws.add_user("root", PASSWORD, role="admin")
    admin = TestClient(app, headers={"Authorization": f"Bearer {ws.create_token(root)}"})
    assert [j["id"] for j in admin.get("/api/jobs").json()] == [job["id"]]
    admin.close()
    other.close()
    colleague.close()


def test_a_job_left_running_by_a_dead_process_is_failed_at_start(ws: Workspace) -> None:
    p, _ = _setup(ws, n=5)
    service = JobService(ws)
    alive = service.create("export", {"project": p.id}, user_id=None, project_id=p.id)
    dead = service.create("export", {"project": p.id}, user_id=None, project_id=p.id)
    stale = service.create("export", {"project": p.id}, user_id=None, project_id=p.id)
    host = service.runner.split(":")[0]
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    with ws.db.write() as conn:
        job_store.update_job(conn, dead["id"], runner=f"{host}:{gone.pid}:x")
        job_store.update_job(conn, stale["id"], runner="elsewhere:1:x",
                             heartbeat_at=time.time() - 3600)
    JobRunner(ws)  # a server starting
    with ws.db.read() as conn:
        rows = {i: job_store.get(conn, i) for i in (alive["id"], dead["id"], stale["id"])}
    assert rows[alive["id"]]["status"] == "running"  # this process: alive
    assert rows[dead["id"]]["status"] == "failed" and rows[dead["id"]]["message"] == INTERRUPTED
    assert rows[stale["id"]]["status"] == "failed"
