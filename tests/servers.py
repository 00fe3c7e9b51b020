"""Run the real app under uvicorn on a free loopback port, in a background thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from truelabel import Workspace
from truelabel.server.app import create_app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def live_server(ws: Workspace, *, app: Any = None, **options: Any) -> Iterator[str]:
    """``app`` (default: ``create_app(ws)``) under uvicorn on a free loopback port;
    ``options`` are uvicorn's (``truelabel serve``'s are ``run.uvicorn_options``); host and
    port are this function's."""
    port = free_port()
    options = {"log_level": "warning", "access_log": False, **options,
               "host": "127.0.0.1", "port": port}
    config = uvicorn.Config(create_app(ws) if app is None else app, **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started:
        if time.time() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def wait_until_serving(url: str, proc: Any, *, timeout: float = 60) -> None:
    """Poll ``url``'s OpenAPI document until the server subprocess ``proc`` answers."""
    import httpx

    deadline = time.time() + timeout
    while True:
        try:
            if httpx.get(url + "/api/openapi.json", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.time() < deadline and proc.poll() is None, "the server did not start"
        time.sleep(0.1)
