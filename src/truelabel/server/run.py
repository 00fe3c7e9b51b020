"""Run the server with uvicorn: one process, or several worker processes on one port."""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from typing import Any

import uvicorn

from truelabel.core import Workspace

from .app import create_app


def serve(
    workspace: Workspace,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    log_level: str = "warning",
    workers: int = 1,
) -> None:
    """Serve the workspace until interrupted. Refuses to start without a secret key.

    ``workers`` > 1 starts that many processes, each with its own listening socket on the
    same port (``SO_REUSEPORT``): the kernel spreads new connections evenly over them.
    (With one shared socket, whichever process is waiting in ``accept`` first takes the
    next connection, and a burst of keep-alive connections can pile onto one process.)
    """
    _ = workspace.secret_key  # raises ProjectError if missing
    if workers <= 1:
        uvicorn.run(_ready(create_app(workspace)), **_options(host, port, log_level))
        return
    if workspace.db.is_sqlite:
        raise SystemExit(
            "Several workers are for PostgreSQL: SQLite allows one writer at a time, which one "
            "process schedules best. Serve with one worker, or move the project to PostgreSQL "
            "(see the README)."
        )
    if not hasattr(socket, "SO_REUSEPORT"):
        raise SystemExit("Several workers need SO_REUSEPORT (Linux, macOS, BSD); use one.")
    _probe(host, port)  # a port in use is reported here, once, not by every worker
    where = (workspace.location, workspace.blobs.url)
    workspace.close()
    ctx = multiprocessing.get_context("spawn")
    procs = [
        ctx.Process(target=_worker, args=(where, host, port, log_level), name=f"worker-{i}")
        for i in range(workers)
    ]
    for p in procs:
        p.start()

    def stop(*_: Any) -> None:
        for p in procs:
            if p.is_alive():
                p.terminate()

    signal.signal(signal.SIGTERM, stop)
    try:
        for p in procs:
            p.join()
    except KeyboardInterrupt:
        stop()
        for p in procs:
            p.join(10)
    codes = [p.exitcode for p in procs]
    if any(c not in (0, -signal.SIGTERM) for c in codes):
        sys.exit(f"a worker stopped with exit code {[c for c in codes if c]}")


def _options(host: str, port: int, log_level: str) -> dict[str, Any]:
    return {
        "host": host,
        "port": port,
        "log_level": log_level,
        "access_log": False,
        "timeout_graceful_shutdown": 5,
    }


def _ready(app: Any) -> Any:
    """Everything loaded at start-up stays for the process's life: move it out of the
    garbage collector's sight (``gc.freeze``), so its full collections walk only what
    requests allocate instead of pausing every request in flight for the whole heap."""
    gc.collect()
    gc.freeze()
    return app


def _listener(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _probe(host: str, port: int) -> None:
    try:
        _listener(host, port, reuse_port=False).close()
    except OSError as exc:
        raise SystemExit(f"Cannot listen on {host}:{port}: {exc.strerror}.") from None


def _worker(where: tuple[str, str], host: str, port: int, log_level: str) -> None:
    """One worker process: its own workspace (database pool) and listening socket."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us with SIGTERM
    parent = os.getppid()

    def orphaned() -> None:  # the parent was killed outright: stop serving too
        while os.getppid() == parent:
            time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=orphaned, daemon=True, name="parent-watch").start()
    location, blob_url = where
    ws = Workspace.open(location, blob_url=blob_url)
    sock = _listener(host, port, reuse_port=True)
    sock.listen(2048)
    config = uvicorn.Config(_ready(create_app(ws)), **_options(host, port, log_level))
    uvicorn.Server(config).run(sockets=[sock])
