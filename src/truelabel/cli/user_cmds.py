"""``truelabel user …``: accounts and their API tokens (add, list, token, tokens, revoke-token,
passwd, disable). Each command parses, makes one library call, prints the result; registered
on the main group by :func:`register`.
"""

from __future__ import annotations

import sys
import time

import click
from rich.table import Table

from .common import console, emit, open_workspace, out

__all__ = ["register"]

_emit = emit


@click.group()
def user() -> None:
    """Manage users: add, list, token, tokens, revoke-token, passwd, disable."""


def _password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@user.command("add")
@click.argument("location")
@click.argument("username")
@click.option(
    "--role",
    type=click.Choice(["admin", "manager", "reviewer", "annotator"]),
    default="annotator",
    show_default=True,
    help="the user's workspace-wide role",
)
@click.option(
    "--project",
    "-p",
    "projects",
    multiple=True,
    help="add to this project with the same role (repeatable)",
)
@click.option("--password-stdin", is_flag=True, help="read the password from stdin")
def user_add(
    location: str, username: str, role: str, projects: tuple[str, ...], password_stdin: bool
) -> None:
    """Add a user (passwords are stored as argon2id hashes).

    Example: echo 's3cret-pass' | truelabel user add myproject alice --role annotator
    -p myproject --password-stdin
    """
    password = _password(password_stdin)
    with open_workspace(location) as ws:
        u = ws.add_user(username, password, role=role)
        for name in projects:
            ws.project(name).add_member(u, role)
    console.print(f"Added {role} {username}.")


@user.command("list")
@click.argument("location")
@click.option("--json", "as_json", is_flag=True, help="print the result as JSON")
def user_list(location: str, as_json: bool) -> None:
    """List users. Example: truelabel user list myproject"""
    with open_workspace(location) as ws:
        rows = ws.list_users()

    def table() -> Table:
        t = Table("id", "username", "role", "disabled")
        for r in rows:
            t.add_row(str(r["id"]), r["username"], r["role"], "yes" if r["disabled"] else "")
        return t

    _emit(rows, as_json, table)


def _days(value: str) -> float | None:
    if value.strip().lower() == "never":
        return None
    try:
        return float(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a number of days or 'never'.") from None


@user.command("token")
@click.argument("location")
@click.argument("username")
@click.option("--name", default="cli", show_default=True, help="to tell your tokens apart")
@click.option("--scope", type=click.Choice(["read", "annotate", "manage"]), default="manage",
              show_default=True,
              help="read: GET only; annotate: reads + next, draft, submit, skip, undo; "
              "manage: all the user's role allows")
@click.option("--expires-in", "expires_in", default="90", show_default=True,
              metavar="DAYS|never", help="days until the token expires, or 'never'")
@click.option("--ttl", type=int, help="seconds until the token expires (instead of "
              "--expires-in)")
def user_token(location: str, username: str, name: str, scope: str, expires_in: str,
               ttl: int | None) -> None:
    """Create an API token for scripts (printed once; only its hash is stored).

    Example: truelabel user token myproject alice --name ci --scope annotate --expires-in 30
    """
    with open_workspace(location) as ws:
        token = ws.create_token(ws.get_user(username), name=name, scope=scope,
                                expires_in_days=_days(expires_in), ttl_seconds=ttl)
    out.print(token)


@user.command("tokens")
@click.argument("location")
@click.argument("username")
@click.option("--json", "as_json", is_flag=True, help="print the result as JSON")
def user_tokens(location: str, username: str, as_json: bool) -> None:
    """List a user's API tokens (never the secrets).

    Example: truelabel user tokens myproject alice
    """
    with open_workspace(location) as ws:
        rows = ws.tokens.list(ws.get_user(username))

    def when(t: float | None, none: str = "") -> str:
        return time.strftime("%Y-%m-%d %H:%M", time.gmtime(t)) if t else none

    def table() -> Table:
        t = Table("id", "name", "scope", "created (UTC)", "last used", "expires")
        for r in rows:
            t.add_row(str(r["id"]), r["name"], r["scope"], when(r["created_at"]),
                      when(r["last_used_at"], "never"), when(r["expires_at"], "never"))
        return t

    _emit(rows, as_json, table)


@user.command("revoke-token")
@click.argument("location")
@click.argument("username")
@click.argument("token_id", type=int)
def user_revoke_token(location: str, username: str, token_id: int) -> None:
    """Revoke one API token of a user (its next request gets 401).

    Example: truelabel user revoke-token myproject alice 3
    """
    with open_workspace(location) as ws:
        ws.tokens.revoke(ws.get_user(username), token_id)
    console.print(f"Token {token_id} of {username} revoked.")


@user.command("passwd")
@click.argument("location")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="read the password from stdin")
def user_passwd(location: str, username: str, password_stdin: bool) -> None:
    """Set a user's password (ends their sessions and revokes their API tokens).

    Example: truelabel user passwd p alice
    """
    password = _password(password_stdin)
    with open_workspace(location) as ws:
        ws.set_password(username, password)
    console.print(f"Password of {username} changed.")


@user.command("disable")
@click.argument("location")
@click.argument("username")
@click.option("--enable", is_flag=True, help="enable again")
def user_disable(location: str, username: str, enable: bool) -> None:
    """Disable (or --enable) a user; disabling ends their sessions and revokes their API
    tokens for good.

    Example: truelabel user disable myproject alice
    """
    with open_workspace(location) as ws:
        ws.set_disabled(username, not enable)
    console.print(f"{username} {'enabled' if enable else 'disabled'}.")


def register(main: click.Group) -> None:
    main.add_command(user)
