"""Test data shared by the test modules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SCHEMA: dict[str, Any] = {
    "title": "support",
    "fields": [
        {"name": "intent", "type": "choice", "options": ["refund", "shipping", "other"]},
        {"name": "tags", "type": "multi_choice", "options": ["urgent", "vip"], "required": False},
        {"name": "entities", "type": "spans", "labels": ["ORG", "PRODUCT"], "required": False},
        {"name": "note", "type": "text", "required": False},
        {"name": "quality", "type": "rating", "scale": 5, "required": False},
    ],
}
PASSWORD = "correct-horse-1"


def make_items(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [
        {"id": f"m{i}", "text": f"Order {i} from ACME arrived broken"}
        for i in range(start, start + n)
    ]


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path
