"""Size limits on what users send: label schemas, guidelines and imported items.

One place for the numbers, so the checks, the docs and the tests agree. They are far above
what a real project uses and far below what would let one request tie up the server (a
schema is parsed and checked on every change and loaded by every page; an item is rendered
whole in the labeling page).
"""

from __future__ import annotations

# -- label schemas -------------------------------------------------------------------------
MAX_SCHEMA_BYTES = 4 << 20
"""The schema text (YAML, JSON or Label Studio XML), in bytes of UTF-8; for a schema sent as
a mapping, the characters of all its titles, help texts, options and labels together."""
MAX_FIELDS = 200
"""Fields in one schema."""
MAX_OPTIONS = 10_000
"""Options of a choice / multi-choice field, labels of a spans field."""
MAX_NAME_CHARS = 64
"""A field name (letters, digits, ``_`` and ``-``)."""
MAX_TOTAL_OPTIONS = 50_000
"""Options and labels in the whole schema, all fields together."""
MAX_OPTION_CHARS = 200
"""An option's or label's value, and its display title."""
MAX_HOTKEY_CHARS = 1
"""A hotkey is one key."""
MAX_TITLE_CHARS = 1_000
"""The schema's title, a field's title, a text field's ``source`` key."""
MAX_HELP_CHARS = 10_000
"""A field's help text."""

# -- guidelines ----------------------------------------------------------------------------
MAX_GUIDELINES_BYTES = 1 << 20
"""The Markdown guidelines of a project, in bytes of UTF-8."""

# -- imports -------------------------------------------------------------------------------
MAX_ITEM_BYTES = 1 << 20
"""An imported item's data as stored (compact JSON, without the id), in bytes. The default of
``max_item_bytes`` on every import (library, CLI ``--max-item-bytes``); the HTTP and URL
imports always use it."""
RAW_RECORD_FACTOR = 4
"""A raw record (a JSONL line, a CSV record, a text line) may be this many times
``max_item_bytes`` before it is parsed (JSON escapes such as ``\\u00e9`` take more room than
the stored text); past that it is refused unread."""
MAX_EXPANSION = 1_000
"""A Parquet file may decode to at most this many times its own size (plus
``EXPANSION_FLOOR``); more is a decompression bomb."""
EXPANSION_FLOOR = 64 << 20
"""Decoded bytes every Parquet file may reach whatever its size."""


def check_guidelines(markdown: str) -> None:
    """Refuse guidelines past ``MAX_GUIDELINES_BYTES`` (every page that shows them loads them)."""
    if len(markdown) > MAX_GUIDELINES_BYTES or len(markdown.encode("utf-8", "replace")) > (
        MAX_GUIDELINES_BYTES
    ):
        from .errors import InvalidInput

        raise InvalidInput(
            f"The guidelines are larger than {MAX_GUIDELINES_BYTES >> 20} MiB; shorten them, "
            "or link to a longer document.",
            field="guidelines",
            limit=MAX_GUIDELINES_BYTES,
        )
