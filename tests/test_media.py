"""Project media are served so they cannot run script (research §6 test 6) and stay inside
their project (test 1); a digest is never a path (test 10)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from helpers import SCHEMA
from truelabel import Workspace
from truelabel.core import Project
from truelabel.domain.models import User
from truelabel.net import media_type

SVG = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
    b"<script>fetch('/api/users/me').then(r=>r.text()).then(t=>alert(t))</script>"
    b'<foreignObject><body xmlns="http://www.w3.org/1999/xhtml"><script>alert(2)</script>'
    b"</body></foreignObject></svg>"
)
PNG_POLYGLOT = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16 + b"<html><script>alert(3)</script></html>"
HTML = b"<!doctype html><html><body><script>alert(4)</script></body></html>"


def upload(client: Any, project: str, data: bytes, name: str, ctype: str) -> Any:
    return client.post(f"/api/projects/{project}/media", files={"file": (name, data, ctype)})


def check_inert(r: Any) -> None:
    assert r.headers["x-content-type-options"] == "nosniff"
    csp = r.headers["content-security-policy"]
    assert csp.startswith("sandbox") and "default-src 'none'" in csp
    assert "script-src 'self'" not in csp  # the media CSP replaces the page CSP


def test_svg_with_script_is_an_attachment(client_for: Any) -> None:
    manager, annotator = client_for("manager"), client_for("ann1")
    r = upload(manager, "support", SVG, "logo.svg", "image/svg+xml")
    assert r.status_code == 201, r.text
    digest = r.json()["digest"]
    assert digest == hashlib.sha256(SVG).hexdigest()
    assert r.json()["content_type"] == "image/svg+xml"

    r = annotator.get(f"/api/projects/support/media/{digest}")  # any member may read
    assert r.status_code == 200
    assert r.content == SVG
    assert r.headers["content-type"].startswith("image/svg+xml")
    assert r.headers["content-disposition"] == f'attachment; filename="{digest}.svg"'
    check_inert(r)


@pytest.mark.parametrize(
    "data,name,declared,served,disposition",
    [
        (HTML, "page.html", "text/html", "application/octet-stream", "attachment"),
        (HTML, "photo.png", "image/png", "application/octet-stream", "attachment"),
        (PNG_POLYGLOT, "x.html", "text/html", "image/png", "inline"),
        (b"alert(1)//", "a.js", "application/javascript", "application/octet-stream", "attachment"),
        (
            b'<?xml version="1.0"?><x:script xmlns:x="http://www.w3.org/1999/xhtml">alert(5)'
            b"</x:script>",
            "a.xml",
            "text/xml",
            "application/octet-stream",
            "attachment",
        ),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 20, "a.jpg", "image/jpeg", "image/jpeg", "inline"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", "a.wav", "audio/wav", "audio/wav", "inline"),
        (b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 16, "a.mp4", "video/mp4", "video/mp4", "inline"),
        (
            b"\x01\x02unknown",
            "a.bin",
            "application/x-whatever",
            "application/octet-stream",
            "attachment",
        ),
    ],
)
def test_type_comes_from_the_bytes_not_the_name(
    client_for: Any, data: bytes, name: str, declared: str, served: str, disposition: str
) -> None:
    manager = client_for("manager")
    digest = upload(manager, "support", data, name, declared).json()["digest"]
    r = manager.get(f"/api/projects/support/media/{digest}")
    assert r.status_code == 200 and r.content == data
    assert r.headers["content-type"].split(";")[0] == served
    assert r.headers["content-disposition"].startswith(disposition + ";")
    assert name not in r.headers["content-disposition"]  # a server-made file name only
    check_inert(r)


def test_only_passive_types_are_inline() -> None:
    assert not media_type(SVG).inline
    assert not media_type(b"  \n<svg><script/></svg>").inline
    assert not media_type(HTML).inline
    assert media_type(PNG_POLYGLOT).inline
    assert media_type(b"").content_type == "application/octet-stream"


TRAVERSALS = [
    "../../etc/passwd",
    "..%2F..%2Fetc%2Fpasswd",
    "..%252F..%252Fetc%252Fpasswd",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "%2E%2E/%2E%2E/etc/passwd",
    "..\\..\\etc\\passwd",
    "..%5c..%5cetc%5cpasswd",
    "%2fetc%2fpasswd",
    "etc%00passwd",
    "." * 64,
    "../" + "a" * 61,
    "A" * 64,
    "a" * 63,
    "a" * 65,
]


@pytest.mark.parametrize("digest", TRAVERSALS)
def test_path_traversal_in_digest_never_reads_a_file(
    client_for: Any, ws: Workspace, monkeypatch: pytest.MonkeyPatch, digest: str
) -> None:
    def no_read(*args: Any, **kw: Any) -> Any:
        pytest.fail(f"the blob store was read for {args}")

    monkeypatch.setattr(ws.blobs, "get", no_read)
    monkeypatch.setattr(ws.blobs.fs, "open", no_read)
    r = client_for("manager").get(f"/api/projects/support/media/{digest}")
    assert r.status_code in (404, 422), (digest, r.status_code)
    assert b"root:" not in r.content
    assert r.json()["error"] in ("not_found", "invalid_input")


def test_foreign_projects_blob_is_404(
    ws: Workspace, client_for: Any, users: dict[str, User], project: Project
) -> None:
    other = ws.create_project("other", SCHEMA)
    other.add_member(users["ann2"], "manager")
    stranger = client_for("ann2")
    r = upload(stranger, "other", b"\x89PNG\r\n\x1a\nsecret-image", "s.png", "image/png")
    assert r.status_code == 201
    digest = r.json()["digest"]
    assert stranger.get(f"/api/projects/other/media/{digest}").status_code == 200

    # a member of "support" asking for it under "support": 404, like a blob that does not exist
    manager = client_for("manager")
    r = manager.get(f"/api/projects/support/media/{digest}")
    assert r.status_code == 404 and b"secret-image" not in r.content
    assert manager.get(f"/api/projects/support/media/{'0' * 64}").json()["error"] == "not_found"
    # not a member of "other": the project itself is 404
    assert manager.get(f"/api/projects/other/media/{digest}").status_code == 404
    # even an admin sees a blob only under the project that holds it
    assert client_for("admin").get(f"/api/projects/support/media/{digest}").status_code == 404
    assert client_for("admin").get(f"/api/projects/other/media/{digest}").status_code == 200

    # uploading the same bytes to "support" makes them part of "support" too
    upload(manager, "support", b"\x89PNG\r\n\x1a\nsecret-image", "s.png", "image/png")
    assert manager.get(f"/api/projects/support/media/{digest}").status_code == 200


def test_upload_needs_a_manager(client_for: Any) -> None:
    for name in ("ann1", "reviewer"):
        r = upload(client_for(name), "support", b"\x89PNG\r\n\x1a\n", "a.png", "image/png")
        assert r.status_code == 403, name
    r = upload(client_for("manager"), "support", b"", "empty.png", "image/png")
    assert r.status_code == 422


def test_media_needs_login(app: Any, client_for: Any) -> None:
    from fastapi.testclient import TestClient

    digest = upload(client_for("manager"), "support", HTML, "a.html", "text/html").json()["digest"]
    anon = TestClient(app)
    assert anon.get(f"/api/projects/support/media/{digest}").status_code == 401
    assert upload(anon, "support", HTML, "a.html", "text/html").status_code == 401


def test_core_get_media_refuses_non_digests_without_reading(
    project: Project, ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    from truelabel.core.url_import import get_media
    from truelabel.domain.errors import NotFound

    monkeypatch.setattr(ws.blobs.fs, "open", lambda *a, **k: pytest.fail(f"read {a}"))
    for bad in ("../../etc/passwd", "/etc/passwd", "a" * 63 + "/", "A" * 64, ""):
        with pytest.raises(NotFound):
            get_media(project, bad, actor=None)
