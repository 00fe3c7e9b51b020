#!/usr/bin/env python
"""Raw vs calibrated confidence (ECE) on the eight crowd data sets.

For each data set in ``../shared/eval/crowd`` (or ``--root``) and each method (majority vote,
Dawid-Skene): a seeded ``--gold-share`` (default 10 %) of the items that have a truth row
becomes gold; :func:`truelabel.quality.calibration.calibrate` calibrates the confidence on it
(cross-fitted); the ECE (10 equal-width bins) is measured on the OTHER items only, before and
after. ``no-gold`` is the held-out-answer rule, calibrated without any gold, measured on all
items with truth.

Example:
    .venv/bin/python bench/bench_calibration.py
    .venv/bin/python bench/bench_calibration.py --json
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from aggregation_bench import load

from truelabel.quality import dawid_skene, encode_ratings, majority_vote
from truelabel.quality.aggregate import AggregationResult
from truelabel.quality.calibration import calibrate, expected_calibration_error
from truelabel.quality.encode import Ratings

DATASETS = ("duck", "rte", "s_dog", "web", "d_possent", "d_product", "s_adult", "s_rel")
DEFAULT_ROOT = Path(__file__).resolve().parents[2] / "shared" / "eval" / "crowd"
METHODS = {
    "majority": lambda r, gold: majority_vote(r),
    "dawid_skene": lambda r, gold: dawid_skene(r, warn=False),
}


def ece_on(res: AggregationResult, truth: dict[str, str], items: set[str]) -> float:
    rows = [k for k, i in enumerate(res.items.tolist()) if i in items and res.codes[k] >= 0]
    labels = res.labels[rows]
    correct = np.array([lab == truth[res.items[k]] for k, lab in zip(rows, labels, strict=True)])
    return expected_calibration_error(res.confidence[rows], correct)


def run(root: Path, name: str, share: float, seed: int) -> list[dict[str, Any]]:
    items, workers, labels, truth = load(root, name)
    r: Ratings = encode_ratings(items, workers, labels)
    answered = set(r.units[np.bincount(r.unit, minlength=r.n_units) > 0].tolist())
    known = sorted(i for i in truth if i in answered)
    rng = np.random.default_rng(seed)
    gold_ids = set(rng.choice(known, size=max(1, round(share * len(known))), replace=False))
    gold = {i: truth[i] for i in gold_ids}
    rest = set(known) - gold_ids
    out = []
    for method, fit in METHODS.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = fit(r, None)
            cal = calibrate(res, gold=gold, seed=seed, refit=fit)
            blind = calibrate(res, seed=seed, refit=fit)
        out.append({
            "dataset": name, "method": method, "gold": len(gold), "evaluated": len(rest),
            "map": cal.params["calibration"]["method"],
            "ece_raw": ece_on(res, truth, rest), "ece_calibrated": ece_on(cal, truth, rest),
            "ece_no_gold": ece_on(blind, truth, set(known)),
            "ece_raw_all": ece_on(res, truth, set(known)),
            "mean_conf_raw": float(np.nanmean(res.confidence)),
            "mean_conf_no_gold": float(np.nanmean(blind.confidence)),
        })
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=DEFAULT_ROOT)
    ap.add_argument("--gold-share", type=float, default=0.10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    rows = [row for name in DATASETS for row in run(args.root, name, args.gold_share, args.seed)]
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print(f"{'dataset':10} {'method':12} {'gold':>5} {'map':12} {'ECE raw':>8} {'ECE cal':>8}"
          f" | {'raw(all)':>8} {'no-gold':>8} {'conf raw':>8} {'conf ng':>8}")
    for x in rows:
        print(f"{x['dataset']:10} {x['method']:12} {x['gold']:5d} {x['map']:12} "
              f"{x['ece_raw']:8.4f} {x['ece_calibrated']:8.4f} | {x['ece_raw_all']:8.4f} "
              f"{x['ece_no_gold']:8.4f} {x['mean_conf_raw']:8.4f} {x['mean_conf_no_gold']:8.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
