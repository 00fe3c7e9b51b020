"""Blob storage on an S3-compatible server (moto in server mode, on loopback)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from servers import free_port
from truelabel import Workspace
from truelabel.core.backup import backup, restore
from truelabel.domain.errors import InvalidInput, NotFound
from truelabel.store.blobs import BlobStore


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    boto3 = pytest.importorskip("boto3")
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    for k, v in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                 "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint}.items():
        monkeypatch.setenv(k, v)
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="tl-test")
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()
    try:
        yield endpoint
    finally:
        server.stop()


def test_blob_store_on_s3(s3: str) -> None:
    store = BlobStore("s3://tl-test/blobs")
    digest = store.put(b"hello s3")
    assert store.put(b"hello s3") == digest  # content-addressed, idempotent
    assert store.exists(digest) and store.get(digest) == b"hello s3"
    with pytest.raises(NotFound):
        store.get("0" * 64)
    with pytest.raises(InvalidInput):
        store.get("../../etc/passwd")
    import boto3

    keys = [o["Key"] for o in boto3.client("s3", endpoint_url=s3).list_objects_v2(
        Bucket="tl-test")["Contents"]]
    assert keys == [f"blobs/{digest[:2]}/{digest[2:4]}/{digest}"]  # no temp files left


def test_workspace_with_s3_blobs_backs_up_and_restores(s3: str, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUELABEL_BLOB_URL", "s3://tl-test/ws1")
    ws = Workspace.init(tmp_path / "ws")
    assert ws.blobs.url == "s3://tl-test/ws1"
    digest = ws.blobs.put(b"\x89PNG fake image")
    backup(ws, tmp_path / "b.tar.gz")
    ws.close()
    monkeypatch.setenv("TRUELABEL_BLOB_URL", "s3://tl-test/ws2")
    restore(tmp_path / "b.tar.gz", tmp_path / "restored")
    with Workspace.open(tmp_path / "restored") as r:
        assert r.blobs.url == "s3://tl-test/ws2" and r.blobs.get(digest) == b"\x89PNG fake image"
