"""Before and after, in one run: the same bench scripts against two source trees, alternated.

A change that must not cost performance is judged against the commit before it, measured in the
same session on the same machine (figures from another day are not comparable: this machine is
shared and its speed drifts by 20 % between sessions). This script extracts ``--base`` (a git
ref) with ``git archive`` into a temp folder and runs each step twice per round — once with
``PYTHONPATH`` on the base's ``src``, once on this checkout's — alternating which goes first from
round to round, then prints the medians side by side with the change in percent.

Steps (``--steps``, comma-separated):

* ``import_export`` — ``bench_import_export.py --n N``: import items/s, export Parquet and JSONL s
* ``cycle`` — ``bench_cycle.py`` on SQLite: next+submit with 1 client and with 8 clients
* ``pg`` — ``bench_cycle.py --db-url URL --workers 2 --client aio --clients 50`` on PostgreSQL
* ``priorities`` — this checkout only: the SQLite cycle with random item priorities beside the
  same run in id order (``bench_cycle.py --priorities random``)

    .venv/bin/python bench/side_by_side.py --base a92da08 --n 1000000 --rounds 1
    .venv/bin/python bench/side_by_side.py --base a92da08 --steps cycle,pg --pg-n 100000 \\
        --db-url postgresql+psycopg://truelabel:truelabel@127.0.0.1:5432/truelabel_test

JSON of every run goes to ``--out`` (default ``bench/results/side_by_side.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from io import BytesIO
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# (label, path into the result JSON, higher is better)
Metric = tuple[str, tuple[str, ...], bool]
METRICS: dict[str, list[Metric]] = {
    "import_export": [
        ("import items/s", ("import", "items_per_s"), True),
        ("import s", ("import", "seconds"), False),
        ("import peak RSS MiB", ("import", "peak_rss_mib"), False),
        ("export Parquet s", ("export", "parquet", "seconds"), False),
        ("export JSONL s", ("export", "jsonl", "seconds"), False),
    ],
    "cycle": [
        ("1 client cycles/s", ("phases", "seq", "cycles_per_s"), True),
        ("1 client cycle p99 ms", ("phases", "seq", "cycle", "p99_ms"), False),
        ("8 clients cycles/s", ("phases", "conc", "cycles_per_s"), True),
        ("8 clients cycle p99 ms", ("phases", "conc", "cycle", "p99_ms"), False),
    ],
    "pg": [
        ("50 clients cycles/s", ("phases", "conc", "cycles_per_s"), True),
        ("50 clients next p99 ms", ("phases", "conc", "next", "p99_ms"), False),
        ("50 clients submit p99 ms", ("phases", "conc", "submit", "p99_ms"), False),
    ],
}
METRICS["priorities"] = METRICS["cycle"]


def extract(ref: str, dest: Path) -> Path:
    """``git archive REF src`` unpacked into ``dest``; the folder to put on PYTHONPATH."""
    blob = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "src"], check=True,
                          capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(blob)) as tar:
        tar.extractall(dest, filter="data")
    return dest / "src"


def dig(data: dict[str, Any], path: tuple[str, ...]) -> float | None:
    cur: Any = data
    for key in path:
        if not isinstance(cur, dict) or key not in cur:
            return None
        cur = cur[key]
    return float(cur) if isinstance(cur, (int, float)) else None


def run_step(script: str, args: list[str], src: Path, out: Path, log: Path) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=str(src))
    cmd = [sys.executable, str(HERE / script), *args, "--out", str(out)]
    print(f"  $ PYTHONPATH={src} {' '.join(cmd[1:])}", flush=True)
    t0 = time.perf_counter()
    with log.open("a") as fh:
        rc = subprocess.run(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT).returncode
    if rc != 0 or not out.exists():
        print(f"    FAILED (exit {rc}); see {log}", flush=True)
        return {"failed": rc}
    print(f"    {time.perf_counter() - t0:.0f} s", flush=True)
    return json.loads(out.read_text())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", required=True, help="git ref of the 'before' code")
    ap.add_argument("--steps", default="import_export,cycle,pg,priorities")
    ap.add_argument("--rounds", type=int, default=1, help="runs of each tree per step")
    ap.add_argument("--n", type=int, default=1_000_000, help="items (SQLite steps)")
    ap.add_argument("--seq-cycles", type=int, default=2000)
    ap.add_argument("--conc-cycles", type=int, default=8000)
    ap.add_argument("--pg-n", type=int, default=100_000, help="items (PostgreSQL step)")
    ap.add_argument("--pg-cycles", type=int, default=20_000)
    ap.add_argument("--pg-warmup", type=int, default=5_000)
    ap.add_argument("--db-url", default="postgresql+psycopg://truelabel:truelabel@127.0.0.1:5432/"
                    "truelabel_test", help="database the pg step may create others beside")
    ap.add_argument("--quiet-wait", default="120")
    ap.add_argument("--out", default=str(HERE / "results" / "side_by_side.json"))
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="truelabel-side-by-side-"))
    cache = tmp / "cache"
    cache.mkdir()
    log = tmp / "runs.log"
    head_rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "src"],
                           capture_output=True, text=True).stdout.strip()
    base_rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", args.base],
                              capture_output=True, text=True, check=True).stdout.strip()
    trees = {"before": extract(args.base, tmp / "base"), "after": ROOT / "src"}
    common = ["--seed", "42", "--quiet-wait", args.quiet_wait, "--data-cache", str(cache)]
    cycle = ["--n", str(args.n), "--seq-cycles", str(args.seq_cycles), "--clients", "8",
             "--conc-cycles", str(args.conc_cycles), *common]
    steps: dict[str, tuple[str, Callable[[str], list[str]]]] = {
        "import_export": ("bench_import_export.py", lambda t: ["--n", str(args.n), *common]),
        "cycle": ("bench_cycle.py", lambda t: cycle),
        "pg": ("bench_cycle.py", lambda t: [
            "--n", str(args.pg_n), "--seq-cycles", "0", "--clients", "50", "--workers", "2",
            "--client", "aio", "--warmup-cycles", str(args.pg_warmup),
            "--conc-cycles", str(args.pg_cycles), "--db-url", args.db_url, *common]),
        # this checkout twice: id order ("before" column) and random priorities ("after")
        "priorities": ("bench_cycle.py", lambda t: cycle + (
            ["--priorities", "random"] if t == "after" else [])),
    }
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for step in args.steps.split(","):
        script, make_args = steps[step]
        runs[step] = {"before": [], "after": []}
        for r in range(args.rounds):
            order = ["before", "after"] if r % 2 == 0 else ["after", "before"]
            for which in order:
                src = trees["after"] if step == "priorities" else trees[which]
                print(f"[{time.strftime('%H:%M:%S')}] {step} round {r + 1} {which}", flush=True)
                out = tmp / f"{step}_{which}_{r}.json"
                runs[step][which].append(run_step(script, make_args(which), src, out, log))

    report: dict[str, Any] = {"base": base_rev, "head": head_rev + ("+dirty" if dirty else ""),
                              "params": vars(args), "steps": {}, "runs": runs}
    print(f"\nbefore = {base_rev}, after = {report['head']} (medians of {args.rounds} run(s))")
    print(f"{'step':<14}{'metric':<28}{'before':>12}{'after':>12}{'change':>10}")
    for step, by_tree in runs.items():
        if step == "priorities":
            print("  (priorities: 'before' = id order, 'after' = random priorities, same code)")
        rows = []
        for label, path, higher in METRICS[step]:
            vals = {w: [v for v in (dig(x, path) for x in by_tree[w]) if v is not None]
                    for w in by_tree}
            if not vals["before"] or not vals["after"]:
                continue
            b, a = statistics.median(vals["before"]), statistics.median(vals["after"])
            change = (a - b) / b * 100 if b else 0.0
            better = change >= 0 if higher else change <= 0
            rows.append({"metric": label, "before": b, "after": a, "change_pct": round(change, 1),
                         "better": better})
            print(f"{step:<14}{label:<28}{b:>12,.2f}{a:>12,.2f}{change:>+9.1f}%")
        report["steps"][step] = rows
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1))
    shutil.rmtree(tmp / "base", ignore_errors=True)
    shutil.rmtree(cache, ignore_errors=True)
    print(f"\nJSON: {args.out}; logs: {log}")


if __name__ == "__main__":
    main()
