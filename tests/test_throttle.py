"""The login and password-change throttle: per address, per account and per device, shared
by every worker process through the database, without locking the victim out.

Issue 10's probe: behind a proxy that sets no forwarding header every client has the same
address, so 50 bad logins locked everyone out; with ``serve --workers N`` each worker kept
its own counts; and rotating addresses made unlimited guesses on one account.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from helpers import PASSWORD
from truelabel import Workspace
from truelabel.core.throttle import Limits
from truelabel.domain.errors import AuthError, TooManyAttempts
from truelabel.domain.models import User
from truelabel.server.app import create_app
from truelabel.server.ratelimit import device_cookie_name

WRONG = "wrong-guess-1"
PROXY = ("10.0.0.1", 4000)  # one shared address: a proxy that sets no forwarding header


def _login(c: TestClient, name: str, password: str = PASSWORD) -> Any:
    return c.post("/api/login", json={"username": name, "password": password})


def _known_browser(app: Any, name: str, client: tuple[str, int]) -> TestClient:
    """A browser that logged in to ``name`` before: it holds that account's device cookie."""
    c = TestClient(app, client=client)
    r = _login(c, name)
    assert r.status_code == 200
    assert device_cookie_name(name) in c.cookies
    return c


def test_the_device_cookie_is_signed_httponly_and_sent_only_to_login(
        app: Any, users: dict[str, User]) -> None:
    c = TestClient(app)
    r = _login(c, "ann1")
    header = next(h for h in r.headers.get_list("set-cookie")
                  if h.startswith(device_cookie_name("ann1")))
    assert "HttpOnly" in header and "Path=/api/login" in header
    assert "samesite=strict" in header.lower()


def test_rotating_addresses_cannot_guess_one_account_forever(
        app: Any, users: dict[str, User]) -> None:
    limit = Limits().per_account
    codes = []
    for i in range(limit + 3):  # a new address for every guess
        attacker = TestClient(app, client=(f"203.0.113.{i + 1}", 4000))
        codes.append(_login(attacker, "ann1", WRONG).status_code)
    assert codes[:limit] == [401] * limit and set(codes[limit:]) == {429}
    fresh = TestClient(app, client=("198.51.100.77", 5000))
    r = _login(fresh, "ann1")  # the right password from a new browser waits too: no oracle
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    assert "logged in to it before" in r.json()["message"]
    # other accounts are untouched
    assert _login(fresh, "ann2").status_code == 200


def test_the_victims_known_browser_logs_in_during_the_attack(
        app: Any, users: dict[str, User]) -> None:
    victim = _known_browser(app, "ann1", ("198.51.100.7", 5000))
    for i in range(Limits().per_account + 5):
        _login(TestClient(app, client=(f"203.0.113.{i + 1}", 4000)), "ann1", WRONG)
    assert _login(TestClient(app, client=("192.0.2.1", 1)), "ann1").status_code == 429
    assert _login(victim, "ann1").status_code == 200
    # a forged or foreign device cookie is no device cookie
    forged = TestClient(app, client=("192.0.2.2", 1))
    forged.cookies.set(device_cookie_name("ann1"), "0" * 32 + "." + "0" * 32,
                       path="/api/login")
    assert _login(forged, "ann1").status_code == 429
    other = _known_browser(app, "ann2", ("192.0.2.3", 1))
    other.cookies.set(device_cookie_name("ann1"),
                      other.cookies.get(device_cookie_name("ann2")) or "", path="/api/login")
    assert _login(other, "ann1").status_code == 429


def test_a_shared_proxy_address_does_not_lock_out_known_browsers(
        app: Any, ws: Workspace, users: dict[str, User]) -> None:
    victim = _known_browser(app, "ann1", PROXY)
    attacker = TestClient(app, client=PROXY)
    names = ["ann2", "manager", "reviewer", "admin"]
    names += [f"user{i}" for i in range(Limits().per_address - len(names))]
    assert {_login(attacker, n, WRONG).status_code for n in names} == {401}
    assert _login(attacker, "ann2").status_code == 429  # the address is spent…
    assert _login(TestClient(app, client=PROXY), "ann1").status_code == 429
    assert _login(victim, "ann1").status_code == 200  # …but not for a known browser


def test_failures_with_a_device_cookie_are_counted_per_device(
        app: Any, users: dict[str, User]) -> None:
    browser = _known_browser(app, "ann1", ("198.51.100.7", 5000))
    codes = [_login(browser, "ann1", WRONG).status_code for _ in range(Limits().per_device + 1)]
    assert codes[-1] == 429 and codes[:-1] == [401] * Limits().per_device
    # this browser's typos did not throttle the account for anyone else
    assert _login(TestClient(app, client=("198.51.100.8", 1)), "ann1").status_code == 200


def test_counts_are_shared_between_worker_processes(
        ws: Workspace, users: dict[str, User], tmp_path: Path) -> None:
    """Two workspaces on one database stand in for two ``serve --workers`` processes."""
    with Workspace.open(ws.location, blob_url=str(tmp_path / "blobs2")) as ws2:
        apps = [create_app(ws), create_app(ws2)]
        limit = Limits().per_pair
        codes = [_login(TestClient(apps[i % 2], client=("203.0.113.5", 1)), "ann1",
                        WRONG).status_code for i in range(limit + 2)]
        assert codes[:limit] == [401] * limit and set(codes[limit:]) == {429}
        # and the library's throttle says the same without HTTP
        for w in (ws, ws2):
            with pytest.raises(TooManyAttempts):
                w.throttle.check_login("203.0.113.5", "ann1", None)


def test_old_failures_are_pruned(ws: Workspace, users: dict[str, User]) -> None:
    from sqlalchemy import text

    ws.throttle.failed("login", "203.0.113.5", "ann1", None)
    with ws.db.write() as conn:  # pretend that one is old
        conn.execute(text("UPDATE auth_failures SET at = at - 100000"))
    ws.throttle.failed("login", "203.0.113.6", "ann1", None)
    with ws.db.read() as conn:
        assert conn.execute(text("SELECT count(*) FROM auth_failures")).scalar() == 1


def test_password_change_guesses_are_throttled_and_audited(
        app: Any, ws: Workspace, users: dict[str, User]) -> None:
    c = TestClient(app)
    csrf = _login(c, "ann1").json()["csrf_token"]
    h = {"X-CSRF-Token": csrf}
    limit = Limits().per_account_password

    def change(current: str) -> Any:
        return c.post("/api/me/password", headers=h,
                      json={"current_password": current, "new_password": "new-password-99"})

    codes = [change(f"guess-{i}").status_code for i in range(limit + 1)]
    assert codes == [401] * limit + [429]
    r = change(PASSWORD)  # even the right one waits: no oracle
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    assert len(ws.audit_log(action="password.failed")) == limit
    # another session (another address) of the same account is throttled too: per account
    other = TestClient(app, client=("198.51.100.9", 1))
    csrf2 = _login(other, "ann1").json()["csrf_token"]
    assert other.post("/api/me/password", headers={"X-CSRF-Token": csrf2}, json={
        "current_password": PASSWORD, "new_password": "new-password-99"}).status_code == 429
    with pytest.raises(AuthError):
        ws.authenticate("ann1", "new-password-99")  # nothing changed
