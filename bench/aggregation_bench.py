#!/usr/bin/env python
"""Benchmark truelabel's label aggregation on the shared crowd data sets.

For each of the eight data sets in ``../shared/eval/crowd`` (see its README) this measures
accuracy and wall time of:

* ``MV``        majority vote, ties to the lowest label (deterministic);
* ``MV split``  majority vote scored with ties split uniformly (expected accuracy; the
  tie-independent number the README and Zhang et al. 2014 report);
* ``DS``        Dawid-Skene (EM, full confusion matrices, max_iter=100, tol=1e-5);
* ``DS-MAP``    Dawid-Skene with a Dirichlet(1 + 1) smoothing of every confusion cell
  (``smoothing=1``), our extra method;
* with ``--gold-share`` (default 10 %) of the scored items given as gold, scored only on the
  other items: ``DS`` again on that subset, ``WV+gold`` (vote weighted by the log-odds of each
  annotator's smoothed gold accuracy) and ``DS+gold`` (gold-anchored Dawid-Skene).

Accuracy is measured on the items that have a truth row and at least one answer. Seconds are
the best of ``--repeat`` runs of the aggregator call (encoding excluded, shown separately).

If crowd-kit is available in a separate interpreter (``--crowdkit-python PATH``, or
``/tmp/ck-venv/bin/python`` when it exists) its ``DawidSkene(n_iter=100)`` runs on the same
files for a side-by-side accuracy and time comparison; crowd-kit is never imported here.

Example:
    .venv/bin/python bench/aggregation_bench.py
    .venv/bin/python bench/aggregation_bench.py --json > agg.json
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from truelabel.quality import (
    AggregationResult,
    ConvergenceWarning,
    Ratings,
    dawid_skene,
    encode_ratings,
    gold_accuracy,
    majority_vote,
    weighted_vote,
)

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO / ".." / "shared" / "eval" / "crowd"
DEFAULT_CK = Path("/tmp/ck-venv/bin/python")
DATASETS = ("duck", "rte", "s_dog", "web", "d_possent", "d_product", "s_adult", "s_rel")

# Best published accuracy per data set, as quoted in shared/eval/crowd/README.md.
PUBLISHED: dict[str, tuple[float, int, str]] = {
    "duck": (0.8991, 4, "Opt-D&S err 10.09 % (Zhang et al. 2014, quoted from memory)"),
    "rte": (0.9288, 4, "MV-D&S / Opt-D&S err 7.12 % (Zhang et al. 2014, from memory)"),
    "s_dog": (0.8426, 4, "crowd-kit DS (the paper's Dog release differs)"),
    "web": (0.8426, 4, "MV-D&S err 15.74 % (Zhang et al. 2014, from memory)"),
    "d_possent": (0.960, 3, "DS / CATD (crowd-kit JOSS paper; Zheng et al. 2017)"),
    "d_product": (0.940, 3, "DS (crowd-kit JOSS paper)"),
    "s_adult": (0.766, 3, "Wawa (crowd-kit JOSS paper)"),
    "s_rel": (0.615, 3, "DS (crowd-kit JOSS paper)"),
}

CROWDKIT_SCRIPT = r"""
import json, sys, time
from pathlib import Path
import pandas as pd
from crowdkit.aggregation import DawidSkene
root = Path(sys.argv[1])
for name in sys.argv[2:]:
    folder = root / name
    if name in ("rte", "web"):
        df = pd.read_csv(folder / f"{name}_crowd.txt", sep=r"\s+", header=None, dtype=str)
        gt = pd.read_csv(folder / f"{name}_truth.txt", sep=r"\s+", header=None, dtype=str)
    else:
        df = pd.read_csv(folder / "answer.csv", dtype=str)
        gt = pd.read_csv(folder / "truth.csv", dtype=str)
    df = df.iloc[:, :3]
    df.columns = ["task", "worker", "label"]
    truth = pd.Series(gt.iloc[:, 1].values, index=gt.iloc[:, 0].values)
    start = time.perf_counter()
    labels = DawidSkene(n_iter=100).fit_predict(df)
    seconds = time.perf_counter() - start
    common = labels.index.intersection(truth.index)
    acc = float((labels[common] == truth[common]).mean())
    print(json.dumps({"dataset": name, "accuracy": acc, "seconds": seconds}), flush=True)
"""


def load(root: Path, name: str) -> tuple[list[str], list[str], list[str], dict[str, str]]:
    """Read one data set in its upstream format (csv with header, or 1-based txt)."""
    folder = root / name
    if name in ("rte", "web"):
        rows = [ln.split() for ln in (folder / f"{name}_crowd.txt").read_text().splitlines()]
        rows = [r for r in rows if r]
        truth_rows = [ln.split() for ln in (folder / f"{name}_truth.txt").read_text().splitlines()]
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
    return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], truth


def timed(fn: Callable[[], AggregationResult], repeat: int) -> tuple[AggregationResult, float]:
    best = float("inf")
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    assert result is not None
    return result, best


def truth_codes(r: Ratings, truth: dict[str, str]) -> np.ndarray:
    """Class code of the truth per unit: -1 no truth, -2 a truth label nobody answered."""
    index = {c: i for i, c in enumerate(r.classes)}
    return np.array(
        [index.get(truth[u], -2) if u in truth else -1 for u in r.units.tolist()], dtype=np.int64
    )


def accuracy(res: AggregationResult, truth: np.ndarray, mask: np.ndarray) -> float:
    return float(np.mean(res.codes[mask] == truth[mask]))


def split_accuracy(res: AggregationResult, truth: np.ndarray, mask: np.ndarray) -> float:
    post = res.posterior[mask]
    top = post >= post.max(axis=1, keepdims=True) - 1e-12
    t = truth[mask]
    hit = np.where(t >= 0, top[np.arange(t.shape[0]), np.maximum(t, 0)], False)
    return float(np.mean(hit / top.sum(axis=1)))


def gold_weights(r: Ratings, gold: dict[str, str]) -> np.ndarray:
    """Log-odds weights from gold accuracy, shrunk towards the pooled gold accuracy."""
    scores = gold_accuracy(r, gold)
    pooled = scores.n_correct.sum() / max(scores.n_gold.sum(), 1)
    acc = (scores.n_correct + 2.0 * pooled) / (scores.n_gold + 2.0)
    acc = np.clip(acc, 1e-3, 1 - 1e-3)
    k = max(r.n_classes, 2)
    return np.maximum(np.log((k - 1) * acc / (1 - acc)), 1e-3)


def run_dataset(root: Path, name: str, gold_share: float, seed: int, repeat: int) -> dict[str, Any]:
    items, workers, labels, truth = load(root, name)
    start = time.perf_counter()
    r = encode_ratings(items, workers, labels)
    encode_s = time.perf_counter() - start
    t = truth_codes(r, truth)
    n_answers = np.bincount(r.unit, minlength=r.n_units)
    scored = (t != -1) & (n_answers > 0)
    rng = np.random.default_rng(seed)
    scored_idx = np.flatnonzero(scored)
    n_gold = max(1, int(round(gold_share * scored_idx.shape[0])))
    gold_idx = rng.choice(scored_idx, size=n_gold, replace=False)
    gold = {
        r.units[i]: r.classes[t[i]] for i in gold_idx.tolist() if t[i] >= 0
    }
    rest = scored.copy()
    rest[gold_idx] = False

    out: dict[str, Any] = {
        "dataset": name, "answers": r.n_ratings, "items": r.n_units,
        "annotators": r.n_annotators, "classes": r.n_classes, "scored": int(scored.sum()),
        "gold_items": len(gold), "encode_seconds": encode_s, "methods": {},
    }
    methods = out["methods"]
    mv, s = timed(lambda: majority_vote(r), repeat)
    methods["MV"] = {"accuracy": accuracy(mv, t, scored), "seconds": s}
    methods["MV split"] = {"accuracy": split_accuracy(mv, t, scored), "seconds": s}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ds, s = timed(lambda: dawid_skene(r), repeat)
        methods["DS"] = {"accuracy": accuracy(ds, t, scored), "seconds": s, "iters": ds.n_iter}
        dsm, s = timed(lambda: dawid_skene(r, smoothing=1.0), repeat)
        methods["DS-MAP"] = {
            "accuracy": accuracy(dsm, t, scored), "seconds": s, "iters": dsm.n_iter,
        }
        methods["DS (non-gold)"] = {"accuracy": accuracy(ds, t, rest), "seconds": None}
        w = gold_weights(r, gold)
        wv, s = timed(lambda: weighted_vote(r, weights=w), repeat)
        methods["WV+gold"] = {"accuracy": accuracy(wv, t, rest), "seconds": s}
        dsg, s = timed(lambda: dawid_skene(r, gold=gold), repeat)
        methods["DS+gold"] = {
            "accuracy": accuracy(dsg, t, rest), "seconds": s, "iters": dsg.n_iter,
        }
    return out


def run_crowdkit(python: Path, root: Path, names: list[str]) -> dict[str, dict[str, float]]:
    proc = subprocess.run(
        [str(python), "-c", CROWDKIT_SCRIPT, str(root), *names],
        capture_output=True, text=True, check=False, timeout=1800,
    )
    if proc.returncode != 0:
        print(f"crowd-kit run failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
        return {}
    out = {}
    for line in proc.stdout.splitlines():
        row = json.loads(line)
        out[row["dataset"]] = {"accuracy": row["accuracy"], "seconds": row["seconds"]}
    return out


def verdict(value: float, published: float, decimals: int) -> str:
    if round(value, decimals) == round(published, decimals):
        return "match"
    return "beat" if value > published else "below"


COLUMNS = ("MV", "MV split", "DS", "DS-MAP", "DS (non-gold)", "WV+gold", "DS+gold")


def print_table(rows: list[dict[str, Any]], ck: dict[str, dict[str, float]]) -> None:
    head = f"{'dataset':10} {'answers':>7} " + " ".join(f"{c:>16}" for c in COLUMNS)
    if ck:
        head += f" {'crowd-kit DS':>16}"
    print(head)
    print("-" * len(head))
    for row in rows:
        cells = []
        for c in COLUMNS:
            m = row["methods"][c]
            sec = "" if m["seconds"] is None or c == "MV split" else f" {m['seconds'] * 1e3:.1f}ms"
            cells.append(f"{m['accuracy']:.4f}{sec}".rjust(16))
        line = f"{row['dataset']:10} {row['answers']:>7} " + " ".join(cells)
        if ck:
            c = ck.get(row["dataset"])
            cell = f"{c['accuracy']:.4f} {c['seconds'] * 1e3:.0f}ms" if c else "n/a"
            line += " " + cell.rjust(16)
        print(line)
    print("\nAll-item columns are scored on every item with truth; the last three on the items "
          "not given as gold.")
    print("\nAgainst the best published result (shared/eval/crowd/README.md):")
    for row in rows:
        pub, dec, source = PUBLISHED[row["dataset"]]
        ours = {c: row["methods"][c]["accuracy"] for c in ("MV split", "DS", "DS-MAP")}
        best = max(ours, key=lambda c: ours[c])
        tags = ", ".join(f"{c} {verdict(v, pub, dec)}" for c, v in ours.items())
        print(f"  {row['dataset']:10} published {pub:.{dec}f} [{source}]; ours best {best} "
              f"{ours[best]:.4f}; {tags}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="crowd data folder")
    parser.add_argument("--datasets", nargs="*", default=list(DATASETS))
    parser.add_argument("--gold-share", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="timing: best of N runs")
    parser.add_argument("--crowdkit-python", type=Path, default=None,
                        help="interpreter with crowd-kit installed (default /tmp/ck-venv)")
    parser.add_argument("--no-crowdkit", action="store_true")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"crowd data not found at {args.data}; pass --data", file=sys.stderr)
        return 2
    rows = [run_dataset(args.data, n, args.gold_share, args.seed, args.repeat)
            for n in args.datasets]
    ck_python = args.crowdkit_python or (DEFAULT_CK if DEFAULT_CK.exists() else None)
    ck = {} if args.no_crowdkit or ck_python is None else run_crowdkit(
        ck_python, args.data, list(args.datasets)
    )
    report = {
        "machine": {"python": platform.python_version(), "numpy": np.__version__,
                    "processor": platform.processor() or platform.machine()},
        "gold_share": args.gold_share, "seed": args.seed, "results": rows, "crowdkit_ds": ck,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print_table(rows, ck)
    srel = next((r for r in rows if r["dataset"] == "s_rel"), None)
    if srel:
        ds = srel["methods"]["DS"]
        line = (f"\nDawid-Skene on S_Rel ({srel['answers']:,} answers): truelabel "
                f"{ds['seconds']:.3f} s ({ds['iters']} EM iterations, encode "
                f"{srel['encode_seconds']:.3f} s)")
        if "s_rel" in ck:
            c = ck["s_rel"]
            line += f"; crowd-kit DawidSkene(n_iter=100) {c['seconds']:.2f} s"
            line += f" -> {c['seconds'] / ds['seconds']:.0f}x"
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
