"""In-process next + submit through the library (``Project.next_task`` / ``Project.submit``),
one annotator, on SQLite: the cost the Project facade, its services and events add to the
annotators' loop. Prints microseconds per cycle, wall clock and this process's CPU time
(median of the rounds; CPU time is the steadier figure on a shared machine).

Compare two checkouts by pointing ``PYTHONPATH`` at each ``src``::

    PYTHONPATH=/work/main/src python bench/bench_project_loop.py --cycles 2000
    PYTHONPATH=src            python bench/bench_project_loop.py --cycles 2000

On a busy disk the flush of each submit dominates; ``--dir /dev/shm`` leaves the CPU cost.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TRUELABEL_FAST_HASH", "1")

SCHEMA = {"fields": [{"name": "sentiment", "type": "choice",
                      "options": ["Positive", "Negative", "Neutral"]}]}


def one_round(cycles: int, folder: Path) -> tuple[float, float]:
    from truelabel import Workspace

    ws = Workspace.init(folder)
    try:
        p = ws.create_project("bench", SCHEMA)
        p.import_records([{"id": f"t{i}", "text": f"text {i}"} for i in range(cycles)])
        user = ws.add_user("ann", "bench-pass-123", role="annotator")
        p.add_member(user, "annotator")
        value = {"sentiment": "Positive"}
        start, cpu = time.perf_counter(), time.process_time()
        for _ in range(cycles):
            t = p.next_task(user)
            assert t is not None
            p.submit(t.id, value, user)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        return wall / cycles * 1e6, cpu / cycles * 1e6
    finally:
        ws.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cycles", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--dir", default=None,
                    help="where the workspaces go (/dev/shm: no disk flush in the figure)")
    args = ap.parse_args()
    import truelabel

    figures = []
    for r in range(args.rounds):
        with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
            figures.append(one_round(args.cycles, Path(tmp) / f"ws{r}"))
    print(f"src: {Path(truelabel.__file__).parent}")
    for i, what in enumerate(("wall", "CPU")):
        got = [f[i] for f in figures]
        print(f"next+submit, SQLite, in-process, {what}: {statistics.median(got):.1f} µs/cycle "
              f"(median of {args.rounds} rounds of {args.cycles}; "
              f"all: {', '.join(f'{f:.1f}' for f in got)})")


if __name__ == "__main__":
    main()
