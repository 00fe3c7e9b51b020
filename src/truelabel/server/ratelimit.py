"""Login throttling that slows attackers without locking the victim out.

Failures are counted per (client address, username) and per client address. An attacker
hammering ``alice`` from one address is throttled there; ``alice`` logging in from her own
address is unaffected, and nobody's account is ever locked.
"""

from __future__ import annotations

import threading
import time
from collections import deque

from truelabel.domain.errors import TruelabelError


class TooManyAttempts(TruelabelError):
    status = 429
    code = "too_many_attempts"


class LoginLimiter:
    def __init__(self, *, per_user: int = 5, per_address: int = 50, window: float = 300.0
                 ) -> None:
        self.per_user, self.per_address, self.window = per_user, per_address, window
        self._fails: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        q = self._fails.setdefault(key, deque())
        while q and q[0] < now - self.window:
            q.popleft()
        return q

    def check(self, address: str, username: str) -> None:
        """Raise :class:`TooManyAttempts` if this address must wait before trying again."""
        now = time.monotonic()
        with self._lock:
            pair = self._recent((address, username.lower()), now)
            addr = self._recent((address, ""), now)
            limited = pair if len(pair) >= self.per_user else (
                addr if len(addr) >= self.per_address else None)
            if limited is not None:
                wait = int(limited[0] + self.window - now) + 1
                raise TooManyAttempts(
                    f"Too many failed logins from your address; try again in {wait} s. "
                    "Other addresses are not affected.", retry_after=wait)

    def failed(self, address: str, username: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._recent((address, username.lower()), now).append(now)
            self._recent((address, ""), now).append(now)
            if len(self._fails) > 100_000:  # bound memory under a spray
                self._fails.clear()

    def succeeded(self, address: str, username: str) -> None:
        with self._lock:
            self._fails.pop((address, username.lower()), None)
