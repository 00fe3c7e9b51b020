"""Fixtures for the quality-engine tests: the crowd benchmark data in tests/data/crowd."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from crowd_data import CROWD, read_text

CROWD_DATASETS = ("duck", "rte", "s_dog", "web", "d_possent", "d_product", "s_adult", "s_rel")


@dataclass(frozen=True)
class CrowdData:
    """One crowd data set as parallel lists plus its truth."""

    name: str
    items: list[str]
    workers: list[str]
    labels: list[str]
    truth: dict[str, str]


def read_crowd(name: str, root: Path = CROWD) -> CrowdData:
    """Read ``root/name`` in its upstream format (csv with header, or 1-based txt)."""
    if name in ("rte", "web"):
        rows = [line.split() for line in read_text(name, f"{name}_crowd.txt", root).splitlines()]
        truth_rows = [
            line.split() for line in read_text(name, f"{name}_truth.txt", root).splitlines()
        ]
        rows = [r for r in rows if r]
        truth = {r[0]: r[1] for r in truth_rows if r}
    else:
        reader = csv.reader(io.StringIO(read_text(name, "answer.csv", root), newline=""))
        next(reader)
        rows = list(reader)
        reader = csv.reader(io.StringIO(read_text(name, "truth.csv", root), newline=""))
        next(reader)
        truth = {r[0]: r[1] for r in reader if r}
    return CrowdData(
        name=name,
        items=[r[0] for r in rows],
        workers=[r[1] for r in rows],
        labels=[r[2] for r in rows],
        truth=truth,
    )


@pytest.fixture(scope="session")
def crowd() -> Callable[[str], CrowdData]:
    """Return a cached loader of the crowd data (TRUELABEL_CROWD_DIR overrides the bundled copy;
    a missing override is an error, not a skip)."""
    if not CROWD.is_dir():
        pytest.fail(f"crowd data not found at {CROWD}: unset TRUELABEL_CROWD_DIR to use "
                    "the copy in tests/data/crowd")
    cache: dict[str, CrowdData] = {}

    def load(name: str) -> CrowdData:
        if name not in cache:
            cache[name] = read_crowd(name)
        return cache[name]

    return load
