"""Throttling of password guesses that slows attackers without locking the victim out.

Failures are rows of the ``auth_failures`` table, so every worker process (and every
``Workspace`` on the same database) sees the same counts; rows older than the longest window
are deleted as new ones arrive. For a login (``kind`` "login") from a client *without* a
valid device cookie for the account, these must all be under their limit:

* failures from this address for this account (``per_pair`` in ``window`` seconds): one
  address hammering one account waits, other addresses are unaffected;
* failures from this address for any account (``per_address`` in ``window``): one address
  cannot spray many accounts;
* failures for this account from any address (``per_account`` in ``account_window``):
  rotating addresses cannot make unlimited guesses on one account.

A client that presents a valid *device cookie* (OWASP "device cookies": set, signed, on
each successful login to that account) is counted on its own (``per_device`` in
``window``), and the address and account counts do not apply to it: the victim's known
browser still logs in while the account is under attack, even behind the attacker's proxy
address. Nobody is locked out for longer than a window; a throttled attempt is refused
before the password is checked, so it is no oracle and adds no count.

Password checks of a logged-in user (``kind`` "password", changing the password) are
limited per account (``per_account_password`` in ``account_window``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from truelabel.domain.errors import TooManyAttempts
from truelabel.store import accounts

if TYPE_CHECKING:
    from truelabel.store.db import Database


class Workspace(Protocol):
    """What the throttle uses of its :class:`~truelabel.core.workspace.Workspace`."""

    db: Database

    @property
    def secret_key(self) -> str: ...


@dataclass(frozen=True)
class Limits:
    window: float = 300.0
    account_window: float = 900.0
    per_pair: int = 5
    per_address: int = 50
    per_account: int = 10
    per_device: int = 10
    per_account_password: int = 5


class Throttle:
    """The shared failure counts of one workspace (see the module's docstring)."""

    def __init__(self, ws: Workspace, limits: Limits | None = None) -> None:
        self.ws = ws
        self.limits = limits or Limits()

    # -- device cookies ---------------------------------------------------------------------
    def new_device(self, username: str) -> str:
        """A device cookie's value for ``username``: a random id and its signature."""
        device = secrets.token_hex(16)
        return f"{device}.{self._sign(username, device)}"

    def device_of(self, username: str, cookie: str | None) -> str | None:
        """The device id in ``cookie`` if it is a valid device cookie for ``username``."""
        if not cookie or cookie.count(".") != 1:
            return None
        device, sig = cookie.split(".")
        if len(device) != 32 or not hmac.compare_digest(sig, self._sign(username, device)):
            return None
        return device

    def _sign(self, username: str, device: str) -> str:
        msg = f"tl-device|{username.lower()}|{device}".encode()
        return hmac.new(self.ws.secret_key.encode(), msg, hashlib.sha256).hexdigest()[:32]

    # -- logins -------------------------------------------------------------------------------
    def check_login(self, address: str, username: str, device: str | None) -> None:
        """Raise :class:`TooManyAttempts` if this attempt must wait (before any password
        check)."""
        lim, now = self.limits, time.time()
        c = self._counts("login", address, username, device, now)
        if device is not None:
            self._over(c, "device", lim.per_device, lim.window, now,
                       "Too many failed logins from this browser; try again in {wait} s.")
            return
        self._over(c, "pair", lim.per_pair, lim.window, now,
                   "Too many failed logins from your address; try again in {wait} s. "
                   "Other addresses are not affected.")
        self._over(c, "address", lim.per_address, lim.window, now,
                   "Too many failed logins from your address; try again in {wait} s.")
        self._over(c, "account", lim.per_account, lim.account_window, now,
                   "Too many failed logins for this account from many places; it only "
                   "accepts logins from browsers that logged in to it before. Use one of "
                   "those, or try again in {wait} s.")

    def failed(self, kind: str, address: str, username: str, device: str | None) -> None:
        lim, now = self.limits, time.time()
        with self.ws.db.write(durable=False) as conn:
            accounts.add_failure(conn, kind=kind, at=now, address=address,
                                 username=username.lower(), device=device,
                                 prune_before=now - max(lim.window, lim.account_window))

    def login_succeeded(self, address: str, username: str, device: str | None) -> None:
        """Forget this address's (or this device's) failures for the account."""
        with self.ws.db.write(durable=False) as conn:
            accounts.clear_failures(conn, kind="login", username=username.lower(),
                                    address=address, device=device)

    # -- password checks of a logged-in user ---------------------------------------------------
    def check_password(self, username: str) -> None:
        lim, now = self.limits, time.time()
        c = self._counts("password", "", username, None, now)
        self._over(c, "account", lim.per_account_password, lim.account_window, now,
                   "Too many wrong current passwords for this account; try again in {wait} s.")

    # -- helpers ---------------------------------------------------------------------------------
    def _counts(self, kind: str, address: str, username: str, device: str | None,
                now: float) -> dict[str, Any]:
        lim = self.limits
        with self.ws.db.read() as conn:
            return accounts.failure_counts(
                conn, kind=kind, address=address, username=username.lower(), device=device,
                since=now - lim.window, account_since=now - lim.account_window)

    @staticmethod
    def _over(c: dict[str, Any], key: str, limit: int, window: float, now: float,
              message: str) -> None:
        if (c[key] or 0) >= limit:
            wait = max(1, int(float(c[key + "_first"]) + window - now) + 1)
            raise TooManyAttempts(message.format(wait=wait), retry_after=wait)
