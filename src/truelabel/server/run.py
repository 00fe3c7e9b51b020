"""Run the server with uvicorn: one process, or several worker processes on one port."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import multiprocessing
import os
import selectors
import signal
import socket
import sys
import threading
import time
from typing import Any

import uvicorn

from truelabel.core import Workspace
from truelabel.domain.environment import FORWARDED_ALLOW_IPS
from truelabel.domain.errors import InvalidInput

from .app import create_app
from .limits import EdgeSettings


def serve(
    workspace: Workspace,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    log_level: str = "warning",
    workers: int = 1,
    edge: EdgeSettings | None = None,
    forwarded_allow_ips: str | None = None,
) -> None:
    """Serve the workspace until interrupted. Refuses to start without a secret key.

    ``edge`` holds the body limits and the allowed Host names; without allowed hosts, a
    loopback ``host`` answers the loopback names, a specific address that address, and a
    wildcard (``0.0.0.0``) refuses to start until they are named
    (:meth:`.limits.EdgeSettings.for_bind`). ``forwarded_allow_ips`` lists the proxies
    (addresses or networks, comma-separated, ``*`` for any) whose ``X-Forwarded-For`` and
    ``X-Forwarded-Proto`` are believed; by default none are, and the client's address is
    the connection's own (what login throttling and the audit log record). Left out (None),
    both come from the environment (``TRUELABEL_*`` variables, as ``truelabel serve``).

    ``workers`` > 1 starts that many processes behind one listening socket, which this
    (parent) process keeps: it accepts each connection and hands it to the worker with the
    fewest open connections (``Balancer``). Annotators hold keep-alive connections for
    the whole session, so where a connection lands decides how loaded a worker is for its
    life: the kernel's ``SO_REUSEPORT`` hash split 50 connections 29/21 or 30/20, and the
    busier worker's clients waited 22–42 % longer on every request; one shared socket is worse
    (a burst piles onto whichever process accepts first).
    """
    _ = workspace.secret_key  # raises ProjectError if missing
    try:
        edge = (edge or EdgeSettings.from_env()).for_bind(host)
    except InvalidInput as exc:
        raise SystemExit(exc.message) from None
    if forwarded_allow_ips is None:
        forwarded_allow_ips = FORWARDED_ALLOW_IPS.read()
    options = uvicorn_options(host, port, log_level, forwarded_allow_ips)
    if workers <= 1:
        uvicorn.run(_ready(create_app(workspace, edge=edge)), **options)
        return
    if workspace.db.is_sqlite:
        raise SystemExit(
            "Several workers are for PostgreSQL: SQLite allows one writer at a time, which one "
            "process schedules best. Serve with one worker, or move the project to PostgreSQL "
            "(see the README)."
        )
    try:
        listener = _listener(host, port)
        listener.listen(2048)
    except OSError as exc:
        raise SystemExit(f"Cannot listen on {host}:{port}: {exc.strerror}.") from None
    where = (workspace.location, workspace.blobs.url)
    workspace.close()
    ctx = multiprocessing.get_context("spawn")
    channels = [socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET) for _ in range(workers)]
    procs = [
        ctx.Process(target=_worker, args=(where, edge, {**options, "host": "127.0.0.1",
                                                       "port": 0}, theirs),
                    name=f"worker-{i}")
        for i, (_, theirs) in enumerate(channels)
    ]
    for p in procs:
        p.start()
    for _, theirs in channels:
        theirs.close()
    balancer = Balancer(listener, [ours for ours, _ in channels])

    def stop(*_: Any) -> None:
        balancer.stopping = True
        for p in procs:
            if p.is_alive():
                p.terminate()

    signal.signal(signal.SIGTERM, stop)
    try:
        balancer.run()
    except KeyboardInterrupt:
        stop()
    finally:
        listener.close()
        for p in procs:
            p.join(10)
    codes = [p.exitcode for p in procs]
    if any(c not in (0, -signal.SIGTERM) for c in codes):
        sys.exit(f"a worker stopped with exit code {[c for c in codes if c]}")


class Balancer:
    """Accepts connections on ``listener`` and passes each (``SCM_RIGHTS``) over a worker's
    channel to the worker with the fewest open connections. A worker says ``+`` once it
    serves (until the first does, connections wait in the listen backlog) and ``-`` for
    each connection it closes. Runs until every worker's channel is closed."""

    def __init__(self, listener: socket.socket, channels: list[socket.socket]) -> None:
        listener.setblocking(False)
        for ch in channels:
            ch.setblocking(False)
        self.listener = listener
        self.open = {ch: 0 for ch in channels}  # live workers -> their open connections
        self.ready: set[socket.socket] = set()  # the workers serving already
        self.stopping = False
        self._turn = 0

    def run(self) -> None:
        with selectors.DefaultSelector() as sel:
            for ch in self.open:
                sel.register(ch, selectors.EVENT_READ)
            while self.open:
                for key, _ in sel.select(timeout=1.0):
                    if key.fileobj is self.listener:
                        self._accept()
                    else:
                        self._report(sel, key.fileobj)  # type: ignore[arg-type]

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:  # none waiting, the peer reset first, or out of descriptors
                return
            with conn:
                if not self.stopping:
                    self._hand(conn)

    def _hand(self, conn: socket.socket) -> None:
        """To the worker with the fewest open connections (in turn among equals); one whose
        channel is full (still starting, or stuck) is passed over; if every one is, the
        connection is closed and the client may retry."""
        skip: set[socket.socket] = set()
        while candidates := [ch for ch in self.open if ch in self.ready and ch not in skip]:
            fewest = min(self.open[ch] for ch in candidates)
            ready = [ch for ch in candidates if self.open[ch] == fewest]
            ch = ready[self._turn % len(ready)]
            self._turn += 1
            try:
                socket.send_fds(ch, [b"c"], [conn.fileno()])
            except (BlockingIOError, InterruptedError):
                skip.add(ch)
                continue
            except OSError:  # that worker is gone
                self.open.pop(ch, None)
                self.ready.discard(ch)
                continue
            self.open[ch] += 1
            return

    def _report(self, sel: selectors.BaseSelector, ch: socket.socket) -> None:
        try:
            msg = ch.recv(16)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            msg = b""
        if msg == b"+" and ch in self.open:
            if not self.ready:  # the first worker serving: start accepting
                sel.register(self.listener, selectors.EVENT_READ)
            self.ready.add(ch)
        elif msg and ch in self.open:
            self.open[ch] = max(0, self.open[ch] - 1)
        else:  # the worker stopped
            sel.unregister(ch)
            self.open.pop(ch, None)
            self.ready.discard(ch)
            ch.close()


def uvicorn_options(
    host: str, port: int, log_level: str, forwarded_allow_ips: str | None = None
) -> dict[str, Any]:
    """uvicorn's settings for ``serve`` (its workers use the same). Forwarded headers are
    read only from ``forwarded_allow_ips`` (uvicorn would trust 127.0.0.1, or the
    ``FORWARDED_ALLOW_IPS`` variable, unless told)."""
    trusted = (forwarded_allow_ips or "").strip()
    return {
        "host": host,
        "port": port,
        "log_level": log_level,
        "access_log": False,
        "timeout_graceful_shutdown": 5,
        "proxy_headers": bool(trusted),
        "forwarded_allow_ips": trusted or "",
    }


def _ready(app: Any) -> Any:
    """Everything loaded at start-up stays for the process's life: move it out of the
    garbage collector's sight (``gc.freeze``), so its full collections walk only what
    requests allocate instead of pausing every request in flight for the whole heap."""
    gc.collect()
    gc.freeze()
    return app


def _listener(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


class _WorkerServer(uvicorn.Server):
    """uvicorn serving the connections the parent's ``Balancer`` passes over ``channel``
    instead of a listening socket of its own; tells the parent of each one it closes."""

    def __init__(self, config: uvicorn.Config, channel: socket.socket) -> None:
        super().__init__(config)
        self.channel = channel
        self._pending: set[asyncio.Future[Any]] = set()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=[])  # lifespan and state; no listener
        if not self.started:
            return
        self.channel.setblocking(False)
        asyncio.get_running_loop().add_reader(self.channel.fileno(), self._receive)
        with contextlib.suppress(OSError):
            self.channel.send(b"+")  # serving: the parent may pass connections now

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        asyncio.get_running_loop().remove_reader(self.channel.fileno())
        await super().shutdown(sockets)

    def _protocol(self) -> asyncio.Protocol:
        proto = self.config.http_protocol_class(  # type: ignore[call-arg]
            config=self.config, server_state=self.server_state, app_state=self.lifespan.state
        )
        lost = proto.connection_lost

        def connection_lost(exc: Exception | None) -> None:
            lost(exc)
            with contextlib.suppress(OSError):
                self.channel.send(b"-")

        proto.connection_lost = connection_lost  # type: ignore[method-assign]
        return proto

    def _receive(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                msg, fds, _, _ = socket.recv_fds(self.channel, 16, 16)
            except (BlockingIOError, InterruptedError):
                return
            if not msg and not fds:  # the parent is gone; the parent-watch thread stops us
                loop.remove_reader(self.channel.fileno())
                return
            for fd in fds:
                sock = socket.socket(fileno=fd)
                task = asyncio.ensure_future(loop.connect_accepted_socket(self._protocol, sock))
                self._pending.add(task)
                task.add_done_callback(self._connected)

    def _connected(self, task: asyncio.Future[Any]) -> None:
        self._pending.discard(task)
        if not task.cancelled() and task.exception() is not None:  # reset before we began
            with contextlib.suppress(OSError):
                self.channel.send(b"-")


def _worker(where: tuple[str, str], edge: EdgeSettings, options: dict[str, Any],
            channel: socket.socket) -> None:
    """One worker process: its own workspace (database pool); serves the connections the
    parent passes over ``channel``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us with SIGTERM
    parent = os.getppid()

    def orphaned() -> None:  # the parent was killed outright: stop serving too
        while os.getppid() == parent:
            time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=orphaned, daemon=True, name="parent-watch").start()
    location, blob_url = where
    ws = Workspace.open(location, blob_url=blob_url)
    config = uvicorn.Config(_ready(create_app(ws, edge=edge)), **options)
    _WorkerServer(config, channel).run()
