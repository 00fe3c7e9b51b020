"""Every ``TRUELABEL_*`` environment variable, declared once: name, default, meaning.

Code reads a variable through its declaration (``BLOB_URL.read()``), never by spelling the
name again, and docs/reference/environment.md is generated from :data:`VARIABLES`; a test scans
the source for ``TRUELABEL_`` names and fails on one that is not declared here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["VARIABLES", "EnvVar", "declared"]


@dataclass(frozen=True)
class EnvVar:
    """One environment variable truelabel reads."""

    name: str
    default: str
    """What an unset (or empty, where ``empty_is_unset``) variable means, as text."""
    meaning: str
    """One or two sentences: what it sets, its values, who reads it."""
    used_by: str
    """Where it takes effect (a command, the server, the test suite...)."""

    def read(self, env: Mapping[str, str] | None = None) -> str:
        """The variable's value in ``env`` (default: the process environment), else its
        default."""
        return (os.environ if env is None else env).get(self.name, self.default)


BLOB_URL = EnvVar(
    "TRUELABEL_BLOB_URL", "",
    "Where blobs (uploaded files, media) are stored: an fsspec URL such as "
    "s3://bucket/prefix (S3 endpoint and keys come from the usual AWS_* variables). Empty: "
    "the workspace folder's blobs/, or ./truelabel-blobs beside a database URL.",
    "every command that opens a workspace; restore")
FAST_HASH = EnvVar(
    "TRUELABEL_FAST_HASH", "",
    "1 makes password hashing cheap (argon2id with minimal cost) for test suites; never set it "
    "in production.",
    "the password hasher, when truelabel is imported")
ASYNC_CONNECTIONS = EnvVar(
    "TRUELABEL_ASYNC_CONNECTIONS", "2",
    "Async PostgreSQL connections the annotators' loop uses at once per server process (1-64); "
    "raise it when PostgreSQL runs on another host.",
    "truelabel serve (PostgreSQL)")
FORWARDED_ALLOW_IPS = EnvVar(
    "TRUELABEL_FORWARDED_ALLOW_IPS", "",
    "Proxies (addresses or networks, comma-separated, * for any) whose X-Forwarded-For and "
    "X-Forwarded-Proto headers are believed. Empty: none; the connection's address is the "
    "client's.",
    "truelabel serve --forwarded-allow-ips")
MAX_JSON_BODY = EnvVar(
    "TRUELABEL_MAX_JSON_BODY", "1MiB",
    "Largest request body except logins and uploads (bytes, or a number with a unit: "
    "512KiB, 1MiB); a larger one gets 413.",
    "truelabel serve --max-json-body")
MAX_LOGIN_BODY = EnvVar(
    "TRUELABEL_MAX_LOGIN_BODY", "64KiB",
    "Largest login request body (bytes or a number with a unit).",
    "truelabel serve --max-login-body")
MAX_UPLOAD_BODY = EnvVar(
    "TRUELABEL_MAX_UPLOAD_BODY", "2GiB",
    "Largest uploaded file, read only from a logged-in user (bytes or a number with a unit).",
    "truelabel serve --max-upload-body")
ALLOWED_HOSTS = EnvVar(
    "TRUELABEL_ALLOWED_HOSTS", "",
    "Host names the server answers to, comma-separated (*.example.org for subdomains, * for "
    "any); other hosts get 400. Empty: the loopback names on a loopback bind, else the bound "
    "address; required with --host 0.0.0.0.",
    "truelabel serve --allowed-hosts")
ACCESS_LOG = EnvVar(
    "TRUELABEL_ACCESS_LOG", "1",
    "1: the server writes one line per request to standard error (method, path without the "
    "query, status, duration, user; never tokens or cookies). 0 turns it off.",
    "truelabel serve --access-log/--no-access-log")
LARGE_ITEM_BYTES = EnvVar(
    "TRUELABEL_LARGE_ITEM_BYTES", "262144",
    "Items larger than this many bytes of JSON are imported but reported as a warning in the "
    "import's result (count and first ids); long items are slow to label. A whole number of "
    "bytes; an import's --large-item-bytes overrides it.",
    "truelabel import, the import routes and jobs")
TOKEN = EnvVar(
    "TRUELABEL_TOKEN", "",
    "An API token for commands that read a project from a running server "
    "(truelabel agreement/aggregate https://… -p PROJECT); their --token overrides it.",
    "truelabel agreement, truelabel aggregate")

TEST_JOB_DELAY = EnvVar(
    "TRUELABEL_TEST_JOB_DELAY", "",
    "Tests only: seconds every background job sleeps at each progress report, so a test can "
    "stop a server in the middle of a job. Never set it in production.",
    "the server's background jobs (core/jobs.py)")

UNDO_SECONDS = EnvVar(
    "TRUELABEL_UNDO_SECONDS", "120",
    "How long (seconds) an annotator may undo their last submit or skip, or go back to the "
    "item they just left (0 turns undo off). A submit that a reviewer, an adjudication or an "
    "aggregation has used cannot be undone at any age; edit it instead.",
    "the labeling page's undo and back (POST /api/projects/{p}/tasks/{id}/undo)")

#: Every variable, by name.
VARIABLES: dict[str, EnvVar] = {
    v.name: v
    for v in (BLOB_URL, FAST_HASH, ASYNC_CONNECTIONS, FORWARDED_ALLOW_IPS, MAX_JSON_BODY,
              MAX_LOGIN_BODY, MAX_UPLOAD_BODY, ALLOWED_HOSTS, ACCESS_LOG, TEST_JOB_DELAY,
              UNDO_SECONDS, LARGE_ITEM_BYTES, TOKEN)
}


def declared(name: str) -> EnvVar:
    """The declaration of ``name``; a KeyError naming the known ones for any other."""
    try:
        return VARIABLES[name]
    except KeyError:
        raise KeyError(f"{name} is not a declared truelabel environment variable; declare it "
                       f"in truelabel.domain.environment (known: {sorted(VARIABLES)}).") from None
