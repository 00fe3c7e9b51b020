"""Answers files at scale: the real CLI on a synthetic 5,000,000-answer file.

Generates (once; cached under /tmp) a crowd of 500,000 items × 10 answers from 1,000
annotators of varied accuracy over 4 labels, as CSV, Parquet and JSONL, then runs
``truelabel aggregate`` (majority, dawid_skene, the default auto) and
``truelabel agreement --resamples 1000`` as
subprocesses, measuring wall time and peak RSS of each (``resource.getrusage(RUSAGE_CHILDREN)``
in a fresh wrapper process per run). Prints a table and saves bench/results/answers_5m.json.

    PYTHONPATH=src python bench/bench_answers.py                 # this checkout
    PYTHONPATH=src python bench/bench_answers.py --rows 200000   # quick
    PYTHONPATH=src python bench/bench_answers.py --base main     # and a git ref side by side

Targets (issue 13): aggregate ≤ 10 s and ≤ 600 MB for 5M rows (CSV and Parquet); agreement with
1,000 bootstrap resamples ≤ 20 s.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(tempfile.gettempdir()) / "truelabel-bench-answers"

RUNS = [  # the commands as a user types them (tables printed, the first items only)
    ("aggregate majority", ["aggregate", "{file}", "--method", "majority"]),
    ("aggregate dawid_skene", ["aggregate", "{file}", "--method", "dawid_skene"]),
    ("aggregate (default: auto)", ["aggregate", "{file}"]),
    ("agreement, 1000 resamples", ["agreement", "{file}", "--resamples", "1000"]),
]

# Runs the CLI in a child and reports the child's wall time and peak RSS as JSON.
_WRAPPER = """
import json, resource, subprocess, sys, time
t = time.perf_counter()
p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
wall = time.perf_counter() - t
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"seconds": wall, "peak_mb": rss, "rc": p.returncode, "cpu_seconds":
                  sum(resource.getrusage(resource.RUSAGE_CHILDREN)[:2]),
                  "stderr": p.stderr.decode()[-400:]}))
"""


def make_files(rows: int) -> dict[str, Path]:
    """The synthetic answers as CSV, Parquet and JSONL (made once per size)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    folder = CACHE / str(rows)
    files = {"csv": folder / "answers.csv", "parquet": folder / "answers.parquet",
             "jsonl": folder / "answers.jsonl"}
    if all(f.exists() for f in files.values()):
        return files
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(13)
    per_item, n_ann, k = 10, 1000, 4
    n_items = rows // per_item
    truth = rng.integers(0, k, n_items)
    skill = rng.uniform(0.55, 0.95, n_ann)
    item = np.repeat(np.arange(n_items), per_item)
    ann = rng.integers(0, n_ann, item.shape[0])
    right = rng.random(item.shape[0]) < skill[ann]
    label = np.where(right, truth[item], (truth[item] + rng.integers(1, k, item.shape[0])) % k)
    names = np.array(["cat", "dog", "bird", "fish"])
    table = pa.table({
        "item": pa.array(np.char.add("it", item.astype(str))),
        "annotator": pa.array(np.char.add("w", ann.astype(str))),
        "label": pa.array(names[label]),
    })
    pcsv.write_csv(table, files["csv"],
                   pcsv.WriteOptions(quoting_style="none"))
    pq.write_table(table, files["parquet"])
    with files["jsonl"].open("wb") as fh:
        for batch in table.to_batches(200_000):
            cols = [batch.column(i).to_pylist() for i in range(3)]
            fh.write("".join(
                f'{{"item":"{a}","annotator":"{b}","label":"{c}"}}\n'
                for a, b, c in zip(*cols, strict=True)).encode())
    return files


def checkout(ref: str) -> Path:
    """A clone of this repository at ``ref`` under /tmp (made once)."""
    target = CACHE / f"src-{ref.replace('/', '_')}"
    if not target.exists():
        subprocess.run(["git", "clone", "-q", "--no-checkout", str(ROOT), str(target)],
                       check=True)
        subprocess.run(["git", "-C", str(target), "checkout", "-q", ref], check=True)
    return target


def run(src: Path, argv: list[str]) -> dict[str, float | int | str]:
    env = {**os.environ, "PYTHONPATH": str(src / "src")}
    cmd = [sys.executable, "-c", _WRAPPER, sys.executable, "-m", "truelabel.cli.main", *argv]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    result: dict[str, float | int | str] = json.loads(out.stdout)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--base", help="a git ref to run side by side (cloned into /tmp)")
    ap.add_argument("--formats", default="csv,parquet,jsonl")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "answers_5m.json"))
    args = ap.parse_args()
    files = make_files(args.rows)
    trees = {"this": ROOT}
    if args.base:
        trees[args.base] = checkout(args.base)
    results = []
    print(f"{args.rows:,} answers; {files['csv'].stat().st_size / 1e6:.0f} MB as CSV")
    print(f"{'tree':<8} {'format':<8} {'command':<28} {'seconds':>8} {'cpu s':>6} "
          f"{'peak MB':>8}  rc")
    for fmt in args.formats.split(","):
        for name, argv in RUNS:
            if fmt == "jsonl" and name != RUNS[0][0]:
                continue  # JSONL: reading speed is the question; one command shows it
            for tree, src in trees.items():
                r = run(src, [a.format(file=files[fmt]) for a in argv])
                results.append({"tree": tree, "format": fmt, "command": name, **r})
                print(f"{tree:<8} {fmt:<8} {name:<28} {r['seconds']:>8.1f} "
                      f"{r['cpu_seconds']:>6.1f} {r['peak_mb']:>8.0f}  {r['rc']}", flush=True)
                if r["rc"]:
                    print(r["stderr"])
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()
    Path(args.out).write_text(json.dumps({"rows": args.rows, "cpus": os.cpu_count(),
                                          "load_average_at_end": load, "results": results},
                                         indent=1) + "\n")
    print(f"load average at the end {load[0]:.1f} on {os.cpu_count()} CPUs (wall times grow "
          "with it; cpu s does not)")
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
