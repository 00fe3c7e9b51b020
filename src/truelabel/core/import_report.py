"""What an import did besides adding items, so nothing is dropped without a word.

Every record an import reads is added as an item, or is counted here with the first few
examples (file line, id, where the item it matched came from):

* ``repeated_text`` — a record without an id whose content is already an item read from this
  file: merged into it (content dedup, ``dedup="content"``, the default). With
  ``dedup="none"`` every record without an id is an item of its own.
* ``repeated_id`` — a record repeating an id of this file with identical content: a no-op.
* ``present`` — a record already in the project from an earlier import (same id and content,
  or, without an id, same content): a no-op, so re-importing a file adds nothing.
* ``conflicts`` — a record reusing an id (of this file or of the project) with *different*
  content. ``on_conflict`` decides: ``fail`` (the default) refuses the import, listing the
  first conflicts, and nothing is stored; ``keep-first`` keeps the item as it is;
  ``keep-last`` gives it the later record's content, metadata and file line.
* ``large`` — an item larger than the warning size (``large_item_bytes``, default
  ``TRUELABEL_LARGE_ITEM_BYTES``): imported, and reported.

What the reader met in the file besides records (``formats.records.Warn``) is counted too:

* ``blank`` — blank lines, which hold no record (JSONL, text, CSV).
* ``multiline`` — a CSV record with a quoted value over several lines: imported as written.
* ``suspect_multiline`` — the same, over more than ``csv_reader.MAX_VALUE_LINES`` lines or
  with lines that look like rows of the file: imported, with a warning naming the lines (a
  quote left open merges the rows after it into one value).
* ``lone_cr`` — a text line holding a carriage return that ends no line: kept in the item,
  with a warning.

The common case costs nothing: the records of a batch are only looked up again when the
database skipped some of them (fewer rows added than given).
"""

from __future__ import annotations

import hashlib
import operator
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from truelabel.domain.environment import LARGE_ITEM_BYTES
from truelabel.domain.errors import ImportFailed, InvalidInput
from truelabel.store import items as item_store
from truelabel.store.db import Connection

if TYPE_CHECKING:
    from truelabel.formats.batches import Row

__all__ = ["DEDUP", "EXAMPLES", "ON_CONFLICT", "ImportTracker", "default_large_item_bytes"]

DEDUP = ("content", "none")
"""How records without an id are matched: by content (repeats merged), or not at all."""
ON_CONFLICT = ("fail", "keep-first", "keep-last")
"""What a record reusing an id with different content does."""
EXAMPLES = 5
"""Examples kept per kind of record."""
_DATA = operator.itemgetter(2)  # a row's data JSON
KINDS = ("repeated_text", "repeated_id", "present", "conflicts", "large", "blank",
         "multiline", "suspect_multiline", "lone_cr")


def default_large_item_bytes() -> int:
    """The warning size from ``TRUELABEL_LARGE_ITEM_BYTES`` (a whole number of bytes)."""
    text = LARGE_ITEM_BYTES.read().strip() or LARGE_ITEM_BYTES.default
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise InvalidInput(
            f"{LARGE_ITEM_BYTES.name}={text!r} is not a positive number of bytes; set it to "
            f"e.g. {LARGE_ITEM_BYTES.default} or unset it.", field=LARGE_ITEM_BYTES.name)
    return value


def check_options(dedup: str, on_conflict: str, large_item_bytes: int | None) -> None:
    if dedup not in DEDUP:
        raise InvalidInput(f"dedup must be one of {list(DEDUP)}, not {dedup!r}.", field="dedup")
    if on_conflict not in ON_CONFLICT:
        raise InvalidInput(f"on_conflict must be one of {list(ON_CONFLICT)}, not "
                           f"{on_conflict!r}.", field="on_conflict")
    if large_item_bytes is not None and large_item_bytes < 1:
        raise InvalidInput("large_item_bytes must be at least 1.", field="large_item_bytes")


class ImportTracker:
    """Counts and examples of one import's records that did not simply become new items."""

    def __init__(self, *, source: str, dedup: str = "content", on_conflict: str = "fail",
                 large_item_bytes: int | None = None) -> None:
        check_options(dedup, on_conflict, large_item_bytes)
        self.source, self.dedup, self.on_conflict = source, dedup, on_conflict
        self.large_item_bytes = large_item_bytes or default_large_item_bytes()
        self.counts: dict[str, int] = dict.fromkeys(KINDS, 0)
        self.examples: dict[str, list[dict[str, Any]]] = {k: [] for k in KINDS}

    def _note(self, kind: str, example: dict[str, Any]) -> None:
        self.counts[kind] += 1
        if len(self.examples[kind]) < EXAMPLES:
            self.examples[kind].append(example)

    def read_note(self, kind: str, example: dict[str, Any]) -> None:
        """What the reader met (``formats.records.Warn``): counted, the first few kept."""
        self._note(kind, example)

    # -- before the insert ---------------------------------------------------------------
    def prepare(self, rows: list[Row], batch_id: int) -> list[Row]:
        """Note the large items; with ``dedup="none"`` make every record without an id
        unique (its key is its content's hash salted with the import and the line)."""
        limit = self.large_item_bytes
        quarter = limit // 4  # a str of n characters is at most 4n bytes of UTF-8
        if rows and max(map(len, map(_DATA, rows))) > quarter:  # in C: the common case
            for ext, _, data, _, line in rows:
                n = len(data)
                if n > quarter and (n > limit or len(data.encode()) > limit):
                    self._note("large", {"id": ext, "line": line, "bytes": len(data.encode())})
        if self.dedup == "content":
            return rows
        blake = hashlib.blake2b
        salt = int(batch_id).to_bytes(8, "big")
        return [
            row if row[0] is not None
            else (None, blake(row[1] + salt + int(row[4]).to_bytes(8, "big"),
                              digest_size=16).digest(), row[2], row[3], row[4])
            for row in rows
        ]

    # -- after the insert ----------------------------------------------------------------
    def settle(self, conn: Connection, rows: Sequence[Row], added: int, *, project_id: int,
               batch_id: int) -> None:
        """Account for the rows of a batch the database skipped (``added`` < rows); with
        ``keep-last``, give conflicting items the later content."""
        if added >= len(rows):
            return
        by_id, by_hash = item_store.stored_keys(
            conn, project_id, ids=[r[0] for r in rows if r[0] is not None],
            hashes=[r[1] for r in rows if r[0] is None])
        state: dict[Any, tuple[bytes, int | None, int | None]] = {}
        replace: dict[str, Row] = {}
        for row in rows:
            ext, digest, _, _, line = row
            key: Any = ext if ext is not None else digest
            stored = by_id.get(ext) if ext is not None else by_hash.get(digest)
            if stored is None or (stored[1] == batch_id and stored[2] == line):
                continue  # this row is the item
            first = state.get(key, stored)
            earlier = first[1] != batch_id
            if first[0] == digest:  # the same content
                kind = ("present" if earlier
                        else "repeated_id" if ext is not None else "repeated_text")
            else:
                kind = "conflicts"
            self.counts[kind] += 1
            if len(self.examples[kind]) < EXAMPLES:  # built for the first few only
                self.examples[kind].append(
                    {"id": ext, "line": line, "first_line": first[2], "earlier": earlier,
                     **({"first_batch": first[1]} if earlier else {})})
            if kind != "conflicts":
                continue
            assert ext is not None  # without an id, the key is the content
            if self.on_conflict == "keep-last":
                state[key] = (digest, batch_id, line)
                replace[ext] = row
        if replace:
            item_store.replace_items(conn, list(replace.values()), project_id=project_id,
                                     batch_id=batch_id)

    def finish(self, sources: Callable[[], dict[int, str]]) -> None:
        """Name the earlier imports the examples matched (``sources``: batch id → source,
        asked only when needed); refuse the import (``on_conflict="fail"``) when a record's
        id conflicts."""
        examples = [e for kind in self.examples.values() for e in kind if "first_batch" in e]
        if examples:
            names = sources()
            for e in examples:
                e["first_source"] = names.get(e.pop("first_batch"))
        n = self.counts["conflicts"]
        if not n or self.on_conflict != "fail":
            return
        shown = "; ".join(_conflict_text(e) for e in self.examples["conflicts"])
        more = f" (the first {EXAMPLES})" if n > EXAMPLES else ""
        raise ImportFailed(
            f"{self.source}: {n:,} record(s) reuse an id with different content{more}: "
            f"{shown}. Say which to keep with --on-conflict keep-first or keep-last (API and "
            "jobs: on_conflict), or give the records distinct ids. Nothing was imported.",
            file=self.source, line=self.examples["conflicts"][0]["line"], conflicts=n,
            examples=self.examples["conflicts"])

    def report(self) -> dict[str, Any]:
        """Counts, examples and the options in force, for ``ImportResult``."""
        return {"dedup": self.dedup, "on_conflict": self.on_conflict,
                "large_item_bytes": self.large_item_bytes, "counts": dict(self.counts),
                "examples": {k: list(v) for k, v in self.examples.items() if v}}


def _conflict_text(e: dict[str, Any]) -> str:
    first = (f"already in the project from {e.get('first_source') or 'an earlier import'}"
             f"{', line ' + str(e['first_line']) if e.get('first_line') else ''}"
             if e["earlier"] else f"first at line {e['first_line']}")
    return f"id {e['id']!r} at line {e['line']} ({first})"


def _lines(examples: list[dict[str, Any]], n: int) -> str:
    shown = ", ".join(
        f"line {e['line']}" + (f" (id {e['id']!r})" if e.get("id") is not None else "")
        + ("" if e.get("first_line") is None or e.get("earlier")
           else f" = line {e['first_line']}")
        for e in examples)
    return shown + (", …" if n > len(examples) else "")


def notes(report: dict[str, Any]) -> list[str]:
    """The report as sentences (CLI output, the job's message, the web page); the records
    already in the project are counted in the result's one-line summary."""
    c, ex = report["counts"], report["examples"]
    out: list[str] = []
    if c["repeated_text"]:
        out.append(
            f"{c['repeated_text']:,} record(s) without an id repeat the text of an earlier "
            f"record of this file and were merged into it (dedup: content): "
            f"{_lines(ex['repeated_text'], c['repeated_text'])}. To import each as its own "
            "item use --dedup none (API: dedup=none), or give the records ids.")
    if c["repeated_id"]:  # a no-op: counted, without examples
        out.append(f"{c['repeated_id']:,} record(s) repeat an id of this file with identical "
                   "content; each was kept once.")
    if c["conflicts"]:
        kept = ("the item as first imported was kept (on_conflict: keep-first)"
                if report["on_conflict"] == "keep-first"
                else "the later record replaced the item (on_conflict: keep-last)")
        shown = "; ".join(_conflict_text(e) for e in ex["conflicts"])
        more = ", …" if c["conflicts"] > len(ex["conflicts"]) else ""
        out.append(f"{c['conflicts']:,} record(s) reuse an id with different content; {kept}: "
                   f"{shown}{more}.")
    if c["large"]:
        shown = ", ".join(
            f"line {e['line']}" + (f" (id {e['id']!r})" if e.get("id") is not None else "")
            + f" {e['bytes']:,} bytes" for e in ex["large"])
        out.append(
            f"Warning: {c['large']:,} item(s) are larger than {report['large_item_bytes']:,} "
            f"bytes: {shown}{', …' if c['large'] > len(ex['large']) else ''}. They were "
            "imported; long items are slow to read and label, so consider splitting them. "
            f"(Warning size: --large-item-bytes or {LARGE_ITEM_BYTES.name}.)")
    out.extend(_reader_notes(c, ex))
    return out


def _spans(examples: list[dict[str, Any]], n: int) -> str:
    shown = ", ".join(f"lines {e['line']}–{e['end_line']}" + (f" ({e['reason']})"
                                                               if e.get("reason") else "")
                      for e in examples)
    return shown + (", …" if n > len(examples) else "")


def _reader_notes(c: dict[str, int], ex: dict[str, list[dict[str, Any]]]) -> list[str]:
    out: list[str] = []
    if c["suspect_multiline"]:
        out.append(
            f"Warning: {c['suspect_multiline']:,} record(s) hold a quoted value over unusually "
            f"many lines: {_spans(ex['suspect_multiline'], c['suspect_multiline'])}. They "
            "were imported as written; if a quote there was left open, the rows after it "
            "were merged into that value: check those lines, close the quote, and import "
            "again.")
    if c["multiline"]:
        out.append(
            f"{c['multiline']:,} record(s) hold a quoted value over several lines, imported "
            f"as written: {_spans(ex['multiline'], c['multiline'])}.")
    if c["lone_cr"]:
        shown = ", ".join(f"line {e['line']}" for e in ex["lone_cr"])
        out.append(
            f"Warning: {c['lone_cr']:,} line(s) hold a carriage return that ends no line: "
            f"{shown}{', …' if c['lone_cr'] > len(ex['lone_cr']) else ''}. It was kept "
            "inside the item; if the file has old Mac line endings, convert them (e.g. "
            "tr '\\r' '\\n') and import again.")
    if c["blank"]:
        shown = ", ".join(str(e["line"]) for e in ex["blank"])
        out.append(
            f"{c['blank']:,} blank line(s) held no record and were passed over: line(s) "
            f"{shown}{', …' if c['blank'] > len(ex['blank']) else ''}.")
    return out
