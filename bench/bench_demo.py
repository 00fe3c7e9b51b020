"""How long `truelabel demo` takes to build its workspace (the target: under about 5 s).

Each round builds the demo in a fresh temporary folder in a fresh subprocess (imports
included, as a user running ``truelabel demo`` pays them) and reports wall and CPU time; the
median of the rounds is printed. With ``--password`` every user shares one password (one
argon2id hash); without it, each of the five people gets their own (six hashes), as the CLI
does by default. Prints only.

    PYTHONPATH=src .venv/bin/python bench/bench_demo.py --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

CHILD = """
import json, resource, sys, time
t0 = time.perf_counter()
from truelabel.core import create_demo
t1 = time.perf_counter()
d = create_demo(sys.argv[1], password=(sys.argv[2] or None))
d.workspace.close()
t2 = time.perf_counter()
ru = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"import_s": t1 - t0, "build_s": t2 - t1, "cpu_s": ru.ru_utime + ru.ru_stime}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--password", default="", help="one password for every demo user")
    args = ap.parse_args()
    rows = []
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory() as d:
            out = subprocess.run([sys.executable, "-c", CHILD, os.path.join(d, "demo"),
                                  args.password], check=True, capture_output=True, text=True)
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    for key in ("import_s", "build_s", "cpu_s"):
        vals = [r[key] for r in rows]
        print(f"{key:9} median {statistics.median(vals):6.2f}  "
              f"({', '.join(f'{v:.2f}' for v in vals)})")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
