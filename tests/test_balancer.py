"""``serve --workers N``: the parent's ``Balancer`` hands each accepted connection to the
worker with the fewest open ones. Driven here with plain socket pairs standing in for the
workers, on loopback; ``tests/test_faults.py`` runs it with real worker processes."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from helpers import wait_until
from truelabel.server.run import Balancer


class Fake:
    """A worker's end of its channel: receives the connections the balancer passes."""

    def __init__(self, ready: bool = True) -> None:
        self.theirs, self.mine = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.mine.settimeout(5)
        self.conns: list[socket.socket] = []
        if ready:
            self.serving()

    def serving(self) -> None:
        self.mine.send(b"+")

    def take(self, n: int) -> None:
        for _ in range(n):
            msg, fds, _, _ = socket.recv_fds(self.mine, 16, 4)
            assert msg == b"c" and len(fds) == 1
            self.conns.append(socket.socket(fileno=fds[0]))

    def pending(self) -> bool:
        self.mine.setblocking(False)
        try:
            self.mine.recv(16, socket.MSG_PEEK)
            return True
        except BlockingIOError:
            return False
        finally:
            self.mine.settimeout(5)

    def closed(self, n: int) -> None:
        """Report ``n`` connections closed, as a worker does."""
        for _ in range(n):
            self.conns.pop().close()
            self.mine.send(b"-")


@contextmanager
def balancing(workers: int, ready: int | None = None
              ) -> Iterator[tuple[Balancer, list[Fake], tuple[str, int]]]:
    """A balancer over ``workers`` fakes, the first ``ready`` of them (default all) serving."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    fakes = [Fake(ready=ready is None or i < ready) for i in range(workers)]
    b = Balancer(listener, [f.theirs for f in fakes])
    t = threading.Thread(target=b.run, daemon=True)
    t.start()
    try:
        yield b, fakes, listener.getsockname()
    finally:
        for f in fakes:
            for c in f.conns:  # the connections this fake "worker" was handed
                c.close()
            f.mine.close()
        t.join(10)
        assert not t.is_alive(), "the balancer runs on after every worker is gone"
        listener.close()


def connect(addr: tuple[str, int], n: int) -> list[socket.socket]:
    return [socket.create_connection(addr, timeout=5) for _ in range(n)]


def settle(b: Balancer, want: list[int]) -> None:
    """Wait until the balancer has counted what the fakes reported."""
    wait_until(lambda: sorted(b.open.values()) == sorted(want))
    assert sorted(b.open.values()) == sorted(want)


def test_connections_go_to_the_worker_with_fewest_open() -> None:
    with balancing(2) as (b, (w0, w1), addr):
        clients = connect(addr, 6)
        w0.take(3)
        w1.take(3)  # 3 and 3, not whatever a hash gives
        # the first worker's connections close (the annotators went home) ...
        w0.closed(3)
        settle(b, [0, 3])
        clients += connect(addr, 3)
        w0.take(3)  # ... so new ones go there until the two are even again
        assert not w1.pending()
        extra = connect(addr, 1)
        (w0 if w0.pending() else w1).take(1)
        assert sorted(b.open.values()) == [3, 4]
        # a passed connection is the client's own: bytes flow end to end
        clients[-1].sendall(b"ping")
        assert w0.conns[-1].recv(4) == b"ping"
        for c in clients + extra:
            c.close()


def test_connections_wait_for_a_worker_that_serves() -> None:
    """A worker gets connections only once it says it serves; before any does, they wait
    in the listen backlog (not in a channel nobody reads)."""
    with balancing(2, ready=0) as (b, (w0, w1), addr):
        clients = connect(addr, 2)
        time.sleep(0.2)
        assert not w0.pending() and not w1.pending() and sum(b.open.values()) == 0
        w1.serving()
        w1.take(2)
        w0.serving()
        wait_until(lambda: w0.theirs in b.ready)
        clients += connect(addr, 2)
        w0.take(2)
        for c in clients:
            c.close()


def test_a_worker_that_is_gone_or_full_is_passed_over() -> None:
    with balancing(2) as (b, (w0, w1), addr):
        w1.mine.close()  # this worker died
        clients = connect(addr, 3)
        w0.take(3)
        settle(b, [3])
        assert len(b.open) == 1
        for c in clients:
            c.close()
    with balancing(2) as (b, (w0, w1), addr):
        # a worker still starting (or stuck) does not read its channel: once the channel is
        # full, connections go to the other worker, however many that one has
        w0.theirs.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1)
        clients = connect(addr, 20)
        wait_until(lambda: sum(b.open.values()) >= 20)
        queued0 = b.open[w0.theirs]
        assert 0 < queued0 < 10 and b.open[w1.theirs] == 20 - queued0
        w0.take(queued0)
        w1.take(20 - queued0)
        for c in clients:
            c.close()


def test_when_no_worker_can_take_a_connection_it_is_closed() -> None:
    with balancing(1) as (b, (w0,), addr):
        w0.theirs.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1)
        clients = connect(addr, 20)
        wait_until(lambda: sum(1 for c in clients if _closed(c)) >= 20 - b.open[w0.theirs])
        dropped = sum(1 for c in clients if _closed(c))
        assert dropped > 0 and dropped + b.open[w0.theirs] == 20
        for c in clients:
            c.close()


def _closed(c: socket.socket) -> bool:
    c.setblocking(False)
    try:
        return c.recv(1) == b""
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True


def test_even_split_of_a_burst() -> None:
    """50 annotators connecting at once split 17/17/16 over three workers."""
    with balancing(3) as (b, fakes, addr):
        clients = connect(addr, 50)
        settle(b, [16, 17, 17])
        for f in fakes:
            f.take(b.open[f.theirs])
        for c in clients:
            c.close()
