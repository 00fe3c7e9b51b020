#!/usr/bin/env python3
"""Import N synthetic text items into a fresh SQLite workspace, then export them annotated.

Measured, each in a fresh subprocess (so peak RSS = VmHWM of just that step):
  1. ``Project.import_file(items.jsonl)`` of N items (~200 characters each; the peer's
     ``make_texts`` with the same seed) -- wall time, items/s, peak RSS;
  2. ``Project.export(out.parquet)`` and ``Project.export(out.jsonl)`` of the N items with one
     annotation each -- wall time, items/s, file size, peak RSS.
Between them (set-up, not measured): every item gets one submitted annotation, written in bulk
(see ``common.bulk_annotate``: one ``p.annotate`` then SQL through ``p.db.write()``).

Targets (issue, 2-core machine, N = 1,000,000): import <= 12 s and <= 500 MB peak;
Parquet export <= 15 s.

    .venv/bin/python bench/bench_import_export.py --n 1000000 --out bench/results/x.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common

TARGET_N = 1_000_000
IMPORT_TARGET_S = 12.0
IMPORT_TARGET_MIB = 500.0
EXPORT_TARGET_S = 15.0


def _cpu_s() -> float:
    t = os.times()
    return t.user + t.system


# --------------------------------------------------------------------------- child steps


def child_import(folder: str, path: str) -> dict:
    from truelabel import Workspace

    ws = Workspace.open(folder)
    p = ws.project(common.PROJECT)
    rss_before = common.self_peak_rss_mib()
    c0 = _cpu_s()
    t0 = time.perf_counter()
    r = p.import_file(path)
    wall = time.perf_counter() - t0
    cpu = _cpu_s() - c0
    t1 = time.perf_counter()
    st = p.status()
    status_ms = (time.perf_counter() - t1) * 1000
    ws.close()
    return {"read": r.read, "added": r.added, "seconds": round(wall, 3),
            "library_seconds": round(r.seconds, 3), "items_per_s": round(r.added / wall, 1),
            "cpu_s": round(cpu, 2), "items_queryable": st["items"],
            "status_ms": round(status_ms, 1), "rss_before_mib": rss_before,
            "peak_rss_mib": common.self_peak_rss_mib()}


def child_export(folder: str, path: str) -> dict:
    from truelabel import Workspace

    ws = Workspace.open(folder)
    p = ws.project(common.PROJECT)
    rss_before = common.self_peak_rss_mib()
    c0 = _cpu_s()
    t0 = time.perf_counter()
    r = p.export(path)
    wall = time.perf_counter() - t0
    cpu = _cpu_s() - c0
    ws.close()
    return {"format": r.format, "items": r.items, "annotations": r.annotations,
            "seconds": round(wall, 3), "library_seconds": round(r.seconds, 3),
            "items_per_s": round(r.items / wall, 1), "cpu_s": round(cpu, 2),
            "bytes": os.path.getsize(path), "mib": round(os.path.getsize(path) / 2**20, 1),
            "rss_before_mib": rss_before, "peak_rss_mib": common.self_peak_rss_mib()}


def run_child(step: str, folder: Path, path: Path) -> dict:
    """One step in a fresh interpreter; also how busy the rest of the machine was meanwhile."""
    a = common.cpu_snapshot(None)
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run([sys.executable, __file__, "--child", step, str(folder), str(path)],
                         check=True, capture_output=True, text=True)
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    b = common.cpu_snapshot(None)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    wall = b["wall"] - a["wall"]
    machine = common.cpu_usage(a, b).get("machine_cores_busy", 0.0)
    child = (ru1.ru_utime + ru1.ru_stime - ru0.ru_utime - ru0.ru_stime) / wall
    res["other_processes_cores"] = round(max(0.0, machine - child), 2)
    return res


def clean_child(args: argparse.Namespace, step: str, make_folder, path: Path) -> dict:
    """``run_child``, repeated while other processes were busy (kept: the cleanest run)."""
    attempts = []
    for k in range(args.retries + 1):
        if k:
            common.wait_quiet(args.quiet_wait)
        folder = make_folder(k)
        r = run_child(step, folder, path)
        r["folder"] = str(folder)
        attempts.append(r)
        print(f"  attempt {k + 1}: {r['seconds']} s, other processes "
              f"{r['other_processes_cores']} cores", flush=True)
        if r["other_processes_cores"] <= args.max_others:
            break
    best = min(attempts, key=lambda a: a["other_processes_cores"])
    best["attempts"] = [{"seconds": a["seconds"], "other_processes_cores":
                         a["other_processes_cores"], "kept": a is best} for a in attempts]
    return best


# --------------------------------------------------------------------------- checks


def check_export(path: Path, fmt: str, n: int) -> dict:
    if fmt == "parquet":
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        t = pq.read_table(path, columns=["id", "annotations"])
        n_ann = int(pc.sum(pc.list_value_length(t["annotations"])).as_py() or 0)
        ok = t.num_rows == n and n_ann == n
        return {"rows": t.num_rows, "annotations": n_ann, "ok": ok}
    rows = n_ann = 0
    import orjson

    with open(path, "rb") as fh:
        for line in fh:
            rows += 1
            n_ann += len(orjson.loads(line)["annotations"])
    return {"rows": rows, "annotations": n_ann, "ok": rows == n and n_ann == n}


def db_size_mib(folder: Path) -> float:
    total = sum(f.stat().st_size for f in folder.glob("truelabel.db*"))
    return round(total / 2**20, 1)


# --------------------------------------------------------------------------- main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=TARGET_N, help="items to import (default 1M)")
    ap.add_argument("--seed", type=int, default=42, help="seed of the synthetic texts")
    ap.add_argument("--out", default=None, help="JSON results file "
                    "(default bench/results/import_export_n{N}.json)")
    ap.add_argument("--formats", default="parquet,jsonl", help="export formats, comma-separated")
    ap.add_argument("--no-export", action="store_true", help="only measure the import")
    ap.add_argument("--data-cache", default=None,
                    help="folder to keep/reuse the generated JSONL in (default: temp, removed)")
    ap.add_argument("--tmp", default="/tmp", help="where the temporary workspace goes")
    ap.add_argument("--retries", type=int, default=2,
                    help="repeat a step up to this many times if other processes were busy")
    ap.add_argument("--max-others", type=float, default=0.3,
                    help="cores other processes may use during a step before it is repeated")
    ap.add_argument("--quiet-wait", type=float, default=180.0,
                    help="wait up to this many seconds for other processes to go idle first")
    ap.add_argument("--child", nargs=3, metavar=("STEP", "FOLDER", "PATH"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        step, folder, path = args.child
        fn = child_import if step == "import" else child_export
        print(json.dumps(fn(folder, path)))
        return 0

    out = args.out or str(common.RESULTS / f"import_export_n{args.n}.json")
    tmp = Path(tempfile.mkdtemp(prefix="truelabel-bench-ie-", dir=args.tmp))
    res: dict = {"bench": "import_export", "n": args.n, "seed": args.seed,
                 "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                 "machine": common.machine_info()}
    try:
        src, gen = common.items_file(args.n, args.seed, tmp, args.data_cache)
        res["data"] = gen
        print(f"data: {src} ({gen})", flush=True)
        def fresh_workspace(k: int) -> Path:
            folder = tmp / f"ws{k}"
            ws, _ = common.new_project(folder)
            ws.close()
            return folder

        res["quiet"] = common.wait_quiet(args.quiet_wait)
        print(f"import {args.n:,} items (fresh subprocess) ...", flush=True)
        imp = clean_child(args, "import", fresh_workspace, src)
        folder = Path(imp.pop("folder"))
        for other in tmp.glob("ws*"):
            if other != folder:
                shutil.rmtree(other)
        imp["db_mib"] = db_size_mib(folder)
        res["import"] = imp
        print(f"import: {imp}", flush=True)

        if not args.no_export:
            from truelabel import Workspace

            print("set-up (not measured): one annotation per item, in bulk ...", flush=True)
            ws = Workspace.open(folder)
            res["annotate_setup"] = common.bulk_annotate(ws, ws.project(common.PROJECT),
                                                         seed=args.seed)
            ws.close()
            print(f"set-up: {res['annotate_setup']}", flush=True)
            res["export"] = {}
            for fmt in [f.strip() for f in args.formats.split(",") if f.strip()]:
                path = tmp / f"export.{fmt}"
                print(f"export {fmt} (fresh subprocess) ...", flush=True)
                ex = clean_child(args, "export", lambda _k: folder, path)
                ex.pop("folder")
                ex["check"] = check_export(path, fmt, args.n)
                path.unlink()
                res["export"][fmt] = ex
                print(f"export {fmt}: {ex}", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    res["targets"] = targets(res)
    res["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    common.write_json(out, res)
    report(res)
    return 0


def targets(res: dict) -> dict:
    """Issue targets; only judged at N >= 1M (smaller runs are for the peer comparison)."""
    if res["n"] < TARGET_N:
        return {"judged": False}
    imp = res["import"]
    t = {"judged": True,
         "import_seconds_le_12": imp["seconds"] <= IMPORT_TARGET_S,
         "import_peak_rss_le_500mb": imp["peak_rss_mib"] <= IMPORT_TARGET_MIB}
    pq = res.get("export", {}).get("parquet")
    if pq:
        t["export_parquet_seconds_le_15"] = pq["seconds"] <= EXPORT_TARGET_S
    return t


def report(res: dict) -> None:
    f = common.fmt
    imp = res["import"]
    tg = res["targets"]

    def mark(key: str) -> str:
        if not tg.get("judged") or key not in tg:
            return ""
        return "  [target met]" if tg[key] else "  [TARGET MISSED]"

    rows = [
        (f"import {imp['added']:,} items", f(imp["seconds"], " s"),
         f"{f(imp['items_per_s'])} items/s, CPU {imp['cpu_s']} s{mark('import_seconds_le_12')}"),
        ("  import peak RSS (VmHWM)", f(imp["peak_rss_mib"], " MiB"),
         f"{imp['rss_before_mib']} MiB before the import starts"
         f"{mark('import_peak_rss_le_500mb')}"),
        ("  queryable right after", f(imp["items_queryable"]),
         f"p.status() {imp['status_ms']} ms"),
        ("  database size", f(imp["db_mib"], " MiB"), ""),
    ]
    if "annotate_setup" in res:
        s = res["annotate_setup"]
        rows.append(("set-up: bulk annotations (not timed)", f(s["annotated_items"]),
                     f"{s['setup_s']} s"))
    for fmt_, ex in res.get("export", {}).items():
        rows.append((f"export {fmt_} {ex['items']:,} items", f(ex["seconds"], " s"),
                     f"{f(ex['items_per_s'])} items/s, {ex['mib']} MiB, "
                     f"{ex['annotations']:,} annotations, check "
                     f"{'ok' if ex['check']['ok'] else 'FAILED'}"
                     f"{mark('export_parquet_seconds_le_15') if fmt_ == 'parquet' else ''}"))
        rows.append((f"  export {fmt_} peak RSS", f(ex["peak_rss_mib"], " MiB"),
                     f"CPU {ex['cpu_s']} s"))
    common.print_table(f"truelabel import/export, N={res['n']:,}, seed {res['seed']}", rows)


if __name__ == "__main__":
    sys.exit(main())
