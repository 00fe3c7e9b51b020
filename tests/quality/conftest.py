"""Fixtures for the quality-engine tests: the shared crowd benchmark data, when present."""

from __future__ import annotations

import csv
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# The shared evaluation data lives next to the repository (../shared); override with
# TRUELABEL_CROWD_DIR. Tests that need it skip when it is absent.
CROWD = Path(os.environ.get("TRUELABEL_CROWD_DIR", REPO / ".." / "shared" / "eval" / "crowd"))

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
    folder = root / name
    if name in ("rte", "web"):
        rows = [line.split() for line in (folder / f"{name}_crowd.txt").read_text().splitlines()]
        truth_rows = [
            line.split() for line in (folder / f"{name}_truth.txt").read_text().splitlines()
        ]
        rows = [r for r in rows if r]
        truth = {r[0]: r[1] for r in truth_rows if r}
    else:
        with (folder / "answer.csv").open(newline="") as fh:
            reader = csv.reader(fh)
            next(reader)
            rows = list(reader)
        with (folder / "truth.csv").open(newline="") as fh:
            reader = csv.reader(fh)
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
    """Return a cached loader of the shared crowd data; skip when it is absent."""
    if not CROWD.is_dir():
        pytest.skip(f"shared crowd data not found at {CROWD}")
    cache: dict[str, CrowdData] = {}

    def load(name: str) -> CrowdData:
        if name not in cache:
            cache[name] = read_crowd(name)
        return cache[name]

    return load
