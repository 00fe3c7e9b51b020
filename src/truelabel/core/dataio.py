"""A project's items in and out (``project.data``): imports from files, streams and records,
all or nothing and reported (:mod:`.import_report`), exports, and the import batches. The
work itself is :mod:`.transfer`'s; this service checks permissions and the schema's needs."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, ClassVar

import orjson

from truelabel.domain.errors import InvalidInput
from truelabel.domain.limits import MAX_ITEM_BYTES
from truelabel.domain.models import ExportResult, ImportResult, User
from truelabel.domain.results import BatchRow
from truelabel.store import projects as project_store

from . import transfer
from .context import Service, actor_id

if TYPE_CHECKING:  # pyarrow loads with the first import, not with the server
    from truelabel.formats.batches import BatchTransform


class DataService(Service):
    """Imports and exports of one project."""

    name: ClassVar[str] = "data"

    def import_file(
        self,
        path: str | Path,
        *,
        fmt: str | None = None,
        id_field: str | None = "id",
        actor: User | None = None,
        progress: transfer.ProgressFn | None = None,
        max_item_bytes: int = MAX_ITEM_BYTES,
        prep: Sequence[BatchTransform] = (),
        meta: dict[str, Any] | None = None,
        dedup: str = "content",
        on_conflict: str = "fail",
        large_item_bytes: int | None = None,
    ) -> ImportResult:
        """Import a JSONL, CSV, Parquet or text file; all or nothing, no duplicates.

        An item whose data passes ``max_item_bytes`` of JSON refuses the whole import.
        ``dedup``, ``on_conflict`` and ``large_item_bytes``: see ``core.import_report``.
        """
        self.require(actor, "items.import")
        p = Path(path)
        if not p.is_file():
            raise InvalidInput(f"{p} is not a file; check the path.", file=str(p))
        with p.open("rb") as fh:
            return self.import_stream(
                fh,
                source=str(p),
                fmt=fmt,
                id_field=id_field,
                actor=actor,
                progress=progress,
                total_bytes=transfer.file_size(p),
                max_item_bytes=max_item_bytes,
                prep=prep,
                meta=meta,
                dedup=dedup, on_conflict=on_conflict, large_item_bytes=large_item_bytes,
            )

    def import_stream(
        self,
        fh: IO[bytes],
        *,
        source: str,
        fmt: str | None = None,
        id_field: str | None = "id",
        actor: User | None = None,
        progress: transfer.ProgressFn | None = None,
        total_bytes: int | None = None,
        max_item_bytes: int = MAX_ITEM_BYTES,
        prep: Sequence[BatchTransform] = (),
        meta: dict[str, Any] | None = None,
        dedup: str = "content",
        on_conflict: str = "fail",
        large_item_bytes: int | None = None,
    ) -> ImportResult:
        """Import from an open binary file; the rules of :meth:`import_file`."""
        self.require(actor, "items.import")
        _, sch = self.schema()
        required = tuple(sorted({k for f in sch.fields for k in f.item_keys()}))
        return transfer.run_import(
            self.db,
            project_id=self.id,
            fh=fh,
            source=source,
            fmt=fmt,
            id_field=id_field,
            required=required,
            user_id=actor_id(actor),
            progress=progress,
            total_bytes=total_bytes,
            max_item_bytes=max_item_bytes,
            prep=prep,
            meta=meta,
            dedup=dedup, on_conflict=on_conflict, large_item_bytes=large_item_bytes,
        )

    def import_records(
        self,
        records: list[dict[str, Any]],
        *,
        source: str = "api",
        id_field: str | None = "id",
        actor: User | None = None,
        max_item_bytes: int = MAX_ITEM_BYTES,
        prep: Sequence[BatchTransform] = (),
        meta: dict[str, Any] | None = None,
        dedup: str = "content",
        on_conflict: str = "fail",
        large_item_bytes: int | None = None,
    ) -> ImportResult:
        """Import in-memory records (a list of dicts), same rules as a file."""
        import io

        try:
            buf = io.BytesIO(b"\n".join(orjson.dumps(r) for r in records))
        except TypeError as exc:
            raise InvalidInput(f"The records cannot be stored as JSON: {exc}.") from None
        return self.import_stream(buf, source=source, fmt="jsonl", id_field=id_field, actor=actor,
                                  max_item_bytes=max_item_bytes, prep=prep, meta=meta,
                                  dedup=dedup, on_conflict=on_conflict,
                                  large_item_bytes=large_item_bytes)

    def export(
        self,
        path: str | Path,
        *,
        fmt: str | None = None,
        only_labeled: bool = False,
        actor: User | None = None,
        progress: transfer.ProgressFn | None = None,
    ) -> ExportResult:
        """Write every item with its annotations (every annotator) to JSONL or Parquet."""
        self.require(actor, "annotations.export")
        total = self.status()["items"] if progress else None
        result = transfer.run_export(
            self.db,
            project_id=self.id,
            path=path,
            fmt=fmt,
            only_labeled=only_labeled,
            progress=progress,
            total=total,
            schema=self.schema()[1],
        )
        with self.db.write() as conn:
            project_store.audit(
                conn,
                at=time.time(),
                user_id=actor_id(actor),
                action="export",
                object_type="project",
                object_id=self.id,
                detail={"format": result.format, "items": result.items},
            )
        return result

    def batches(self, *, actor: User | None = None) -> list[BatchRow]:
        self.require(actor, "items.read")
        with self.db.read() as conn:
            return project_store.list_batches(conn, self.id)
