#!/usr/bin/env python
"""Truth inference on the public crowd data sets: every truelabel method beside crowd-kit's.

One run, per data set in ``--data`` (default ``../shared/eval/crowd`` next to the repository;
when that folder is missing, the gzip copy in ``tests/data/crowd``), read in the formats its
README describes (``answer.csv``/``truth.csv`` with a header; ``*_crowd.txt``/``*_truth.txt``
whitespace-separated; plain or ``.gz``):

* every truth method registered in ``truelabel.plugins.registry.truth_methods`` (so plug-ins
  and later built-ins join by themselves). Methods that need gold (``needs_gold``) get a
  seeded ``--gold-share`` (default 10 %) of the scored tasks as gold and are scored on the
  other tasks only — their rows are marked ``†`` and are not comparable one-to-one;
* crowd-kit's ``MajorityVote()``, ``DawidSkene(n_iter=100)``, ``GLAD()``,
  ``MACE(random_state=0)`` and ``OneCoinDawidSkene(n_iter=100)`` (the settings of the data
  README), imported in this same process (``pip install -e '.[bench]'``; without it the
  script says how to install it and runs ours only);
* the best published accuracy quoted in the data README.

Columns: accuracy on the tasks with a truth row and at least one answer; ECE, the expected
calibration error of the reported confidence (the probability the method gives its chosen
label) over 10 equal-width bins on the same tasks; wall seconds of the fit (encoding
excluded for ours, DataFrame building excluded for crowd-kit); EM iterations for ours.

    .venv/bin/python bench/bench_crowd.py                       # all data sets, ~10 min
    .venv/bin/python bench/bench_crowd.py --datasets duck,rte --skip-peer
    .venv/bin/python bench/bench_crowd.py --peer-methods MV,DS --markdown
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import platform
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from truelabel.core.calibrated import calibrate_fit
from truelabel.plugins import registry
from truelabel.quality import (
    AggregationResult,
    QualityError,
    QualityWarning,
    Ratings,
    encode_ratings,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
# the data sets, the published best accuracies and the truth encoding are aggregation_bench's
from aggregation_bench import DATASETS, DEFAULT_DATA, PUBLISHED, REPO, truth_codes  # noqa: E402

BUNDLED = REPO / "tests" / "data" / "crowd"
DEFAULT_JSON = REPO / "bench" / "results" / "crowd.json"
PEER_METHODS = ("MV", "DS", "GLAD", "MACE", "OneCoinDS")
INSTALL_HINT = ("crowd-kit is not installed, so only truelabel's methods run. Install the "
                "bench extra:  pip install -e '.[bench]' && pip install --no-deps "
                "crowd-kit==1.4.2")


def _text(path: Path) -> str:
    """A data file's text, from ``path`` or its ``.gz``."""
    if path.is_file():
        return path.read_text("utf-8")
    return gzip.decompress(path.with_name(path.name + ".gz").read_bytes()).decode("utf-8")


def load(root: Path, name: str) -> tuple[list[str], list[str], list[str], dict[str, str]]:
    """(tasks, workers, labels, truth) of one data set in its upstream format."""
    folder = root / name
    if (folder / f"{name}_crowd.txt").is_file() or (folder / f"{name}_crowd.txt.gz").is_file():
        rows = [ln.split() for ln in _text(folder / f"{name}_crowd.txt").splitlines()]
        rows = [r for r in rows if r]
        truth_rows = [ln.split() for ln in _text(folder / f"{name}_truth.txt").splitlines()]
        truth = {r[0]: r[1] for r in truth_rows if r}
    else:
        reader = csv.reader(io.StringIO(_text(folder / "answer.csv"), newline=""))
        next(reader)
        rows = [r for r in reader if r]
        reader = csv.reader(io.StringIO(_text(folder / "truth.csv"), newline=""))
        next(reader)
        truth = {r[0]: r[1] for r in reader if r}
    return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], truth


def ece(confidence: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: Σ_b (n_b / n) |accuracy_b − mean confidence_b| over
    ``bins`` equal-width confidence bins ([0, 0.1), …, [0.9, 1])."""
    which = np.minimum((confidence * bins).astype(np.int64), bins - 1)
    n = np.bincount(which, minlength=bins)
    hit = np.bincount(which, weights=correct.astype(float), minlength=bins)
    conf = np.bincount(which, weights=confidence, minlength=bins)
    used = n > 0
    return float(np.abs(hit[used] - conf[used]).sum() / max(confidence.shape[0], 1))


def score(codes: np.ndarray, confidence: np.ndarray, t: np.ndarray,
          mask: np.ndarray) -> tuple[float, float]:
    correct = codes[mask] == t[mask]
    conf = np.nan_to_num(confidence[mask], nan=0.0)
    return float(correct.mean()), ece(conf, correct)


def default_method() -> str:
    """The method a project uses when it names none: ``auto`` once it is registered."""
    names = registry.truth_methods.names()
    return "auto" if any(n == "truelabel.auto.v1" for n in names) else "dawid_skene"


def run_ours(r: Ratings, t: np.ndarray, scored: np.ndarray, gold_share: float,
             seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    idx = np.flatnonzero(scored & (t >= 0))
    gold_idx = rng.choice(idx, size=max(1, int(round(gold_share * idx.shape[0]))),
                          replace=False)
    gold = {r.units[i]: r.classes[t[i]] for i in gold_idx.tolist()}
    rest = scored.copy()
    rest[gold_idx] = False
    out: dict[str, Any] = {}
    for method in sorted(registry.truth_methods.all().values(), key=lambda m: m.name):
        kwargs: dict[str, Any] = {"seed": seed, "warn": False}
        mask = scored
        if method.needs_gold:
            kwargs["gold"], mask = gold, rest
        start = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", QualityWarning)
                res: AggregationResult = method.fit(r, **kwargs)
        except QualityError as exc:
            out[method.name] = {"error": str(exc)}
            continue
        seconds = time.perf_counter() - start
        accuracy, calibration = score(res.codes, res.confidence, t, mask)
        # the confidence truelabel reports: calibrated without gold (the held-out-answer
        # rule), and with the gold share (cross-fitted), scored on the tasks not given as gold
        start = time.perf_counter()
        no_gold = calibrate_fit(res, r, method=method.name, gold=None, seed=seed)
        cal_seconds = time.perf_counter() - start
        with_gold = calibrate_fit(res, r, method=method.name, gold=gold, seed=seed,
                                  fitted_with_gold=bool(method.needs_gold))
        out[method.name] = {
            "accuracy": accuracy, "ece": calibration, "seconds": seconds,
            "ece_calibrated_no_gold": score(res.codes, no_gold.confidence, t, mask)[1],
            "ece_calibrated_gold": score(res.codes, with_gold.confidence, t, rest)[1],
            "calibration_seconds": cal_seconds,
            "iterations": res.n_iter, "converged": res.converged,
            "gold_share": gold_share if method.needs_gold else 0.0,
            "scored": int(mask.sum()),
        }
    return out


def peer_factories(names: list[str]) -> dict[str, Callable[[], Any]] | None:
    """crowd-kit's aggregators with the data README's settings, or None without crowd-kit."""
    try:
        from crowdkit.aggregation import (  # type: ignore[import-not-found]
            GLAD,
            MACE,
            DawidSkene,
            MajorityVote,
            OneCoinDawidSkene,
        )
    except ImportError:
        return None
    every: dict[str, Callable[[], Any]] = {
        "MV": MajorityVote, "DS": lambda: DawidSkene(n_iter=100), "GLAD": GLAD,
        "MACE": lambda: MACE(random_state=0),
        "OneCoinDS": lambda: OneCoinDawidSkene(n_iter=100),
    }
    return {n: every[n] for n in names}


def run_peer(factories: dict[str, Callable[[], Any]], tasks: list[str], workers: list[str],
             labels: list[str], truth: dict[str, str]) -> dict[str, Any]:
    import pandas as pd

    df = pd.DataFrame({"task": tasks, "worker": workers, "label": labels})
    answered = set(tasks)
    scored = [task for task in truth if task in answered]
    out: dict[str, Any] = {}
    for name, make in factories.items():
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = make().fit(df)
        seconds = time.perf_counter() - start
        chosen = model.labels_.reindex(scored)
        correct = (chosen.astype(str).to_numpy() == np.array([truth[s] for s in scored]))
        probas = getattr(model, "probas_", None)
        if probas is not None:
            p = probas.reindex(scored)
            cols = {str(c): j for j, c in enumerate(p.columns)}
            j = np.array([cols.get(str(lab), -1) for lab in chosen.tolist()])
            values = p.to_numpy(dtype=float)
            conf = np.where(j >= 0, values[np.arange(len(scored)), np.maximum(j, 0)], 0.0)
            calibration: float | None = ece(np.nan_to_num(conf), correct)
        else:
            calibration = None
        out[name] = {"accuracy": float(correct.mean()), "ece": calibration,
                     "seconds": seconds}
    return out


def run_dataset(root: Path, name: str, factories: dict[str, Callable[[], Any]] | None,
                gold_share: float, seed: int) -> dict[str, Any]:
    tasks, workers, labels, truth = load(root, name)
    r = encode_ratings(tasks, workers, labels)
    t = truth_codes(r, truth)
    scored = (t != -1) & (np.bincount(r.unit, minlength=r.n_units) > 0)
    out: dict[str, Any] = {
        "dataset": name, "answers": r.n_ratings, "tasks": r.n_units,
        "workers": r.n_annotators, "classes": r.n_classes, "scored": int(scored.sum()),
        "published": {"accuracy": PUBLISHED[name][0], "source": PUBLISHED[name][2]}
        if name in PUBLISHED else None,
        "ours": run_ours(r, t, scored, gold_share, seed),
        "crowd_kit": run_peer(factories, tasks, workers, labels, truth) if factories else {},
    }
    return out


def _cell(entry: dict[str, Any] | None, key: str, fmt: str) -> str:
    if not entry or entry.get(key) is None:
        return "—"
    return format(entry[key], fmt)


def markdown(results: list[dict[str, Any]], default: str) -> str:
    """Two tables: accuracy at a glance, then every method's accuracy, ECE and time."""
    ours = sorted({m for res in results for m in res["ours"]})
    peers = [p for p in PEER_METHODS if any(p in res["crowd_kit"] for res in results)]
    head = (["data", "published best", f"ours: default ({default})"]
            + [f"ours: {m}" for m in ours if m != default] + [f"crowd-kit {p}" for p in peers])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for res in results:
        pub = res["published"]["accuracy"] if res["published"] else None
        row = [res["dataset"], "—" if pub is None else f"{pub:.4f}",
               _cell(res["ours"].get(default), "accuracy", ".4f")]
        for m in ours:
            if m != default:
                mark = "†" if res["ours"][m].get("gold_share") else ""
                row.append(_cell(res["ours"].get(m), "accuracy", ".4f") + mark)
        row += [_cell(res["crowd_kit"].get(p), "accuracy", ".4f") for p in peers]
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", "| data | method | accuracy | ECE raw | ECE calibrated, no gold | "
              "ECE calibrated, 10 % gold | seconds | EM iterations |",
              "|---|---|---:|---:|---:|---:|---:|---:|"]
    for res in results:
        for m in ours:
            e = res["ours"][m]
            label = f"ours: {m}" + (" †" if e.get("gold_share") else "")
            if "error" in e:
                lines.append(f"| {res['dataset']} | {label} | error | | | | | |")
                continue
            lines.append(f"| {res['dataset']} | {label} | {e['accuracy']:.4f} | "
                         f"{e['ece']:.4f} | {_cell(e, 'ece_calibrated_no_gold', '.4f')} | "
                         f"{_cell(e, 'ece_calibrated_gold', '.4f')} | {e['seconds']:.2f} | "
                         f"{e['iterations']} |")
        for p in peers:
            e = res["crowd_kit"][p]
            lines.append(f"| {res['dataset']} | crowd-kit {p} | {e['accuracy']:.4f} | "
                         f"{_cell(e, 'ece', '.4f')} | | | {e['seconds']:.2f} | |")
    gold = [r["ours"][m] for r in results for m in ours if r["ours"][m].get("gold_share")]
    if gold:
        lines += ["", f"† given {gold[0]['gold_share']:.0%} of the scored tasks as gold and "
                  "scored on the others."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=None,
                        help=f"crowd data folder (default {DEFAULT_DATA}, else {BUNDLED})")
    parser.add_argument("--datasets", default=",".join(DATASETS),
                        help="comma-separated data set names")
    parser.add_argument("--skip-peer", action="store_true", help="do not run crowd-kit")
    parser.add_argument("--peer-methods", default=",".join(PEER_METHODS),
                        help=f"crowd-kit methods to run, of {','.join(PEER_METHODS)}")
    parser.add_argument("--gold-share", type=float, default=0.1,
                        help="share of scored tasks given as gold to needs_gold methods")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write JSON")
    parser.add_argument("--markdown", action="store_true",
                        help="print the tables as Markdown (for docs/quality.md)")
    parser.add_argument("--table-from", type=Path, default=None, metavar="JSON",
                        help="print the Markdown tables of an earlier run's JSON; run nothing")
    args = parser.parse_args(argv)
    if args.table_from:
        saved = json.loads(args.table_from.read_text())
        print(markdown(saved["results"], saved["default_method"]))
        return 0
    root = args.data or (DEFAULT_DATA if DEFAULT_DATA.is_dir() else BUNDLED)
    names = [n for n in args.datasets.split(",") if n]
    unknown = [n for n in names if not (root / n).is_dir()]
    if unknown:
        parser.error(f"no data set {unknown} under {root}")
    peer_names = [p for p in args.peer_methods.split(",") if p]
    bad = [p for p in peer_names if p not in PEER_METHODS]
    if bad:
        parser.error(f"unknown --peer-methods {bad}; choose from {','.join(PEER_METHODS)}")
    factories = None if args.skip_peer else peer_factories(peer_names)
    if factories is None and not args.skip_peer:
        print(INSTALL_HINT, file=sys.stderr)

    default = default_method()
    versions: dict[str, str] = {"python": platform.python_version(), "numpy": np.__version__}
    if factories:
        from importlib.metadata import version
        versions["crowd-kit"] = version("crowd-kit")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    results: list[dict[str, Any]] = []
    for name in names:
        res = run_dataset(root, name, factories, args.gold_share, args.seed)
        results.append(res)
        for group in ("ours", "crowd_kit"):
            for m, e in res[group].items():
                if "error" in e:
                    print(f"{name:10s} {group:9s} {m:18s} error: {e['error']}", flush=True)
                    continue
                calib = "—" if e["ece"] is None else f"{e['ece']:.4f}"
                print(f"{name:10s} {group:9s} {m:18s} acc {e['accuracy']:.4f}  ECE {calib}  "
                      f"{e['seconds']:7.2f} s", flush=True)
        # written after every data set, so a long run interrupted keeps what it measured
        args.json.write_text(json.dumps({
            "data": str(root.resolve()), "default_method": default,
            "gold_share": args.gold_share, "seed": args.seed, "versions": versions,
            "machine": platform.machine(), "results": results,
        }, indent=1) + "\n")
    if args.markdown:
        print(markdown(results, default))
    print(f"wrote {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
