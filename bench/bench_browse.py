#!/usr/bin/env python3
"""The data browser on a large SQLite project: the filtered first page and its count, per filter.

Set-up (not measured; cached in --cache, reused when present): N items imported through
``Project.import_file`` (the peer's synthetic texts), then, with SQL through the store's own
connection in one write transaction (like ``common.bulk_annotate``): four import batches a week
apart with slice metadata ``lang`` (en/de/fr/es), four annotators (a1 and a2 answer every item
and agree about 70 % of the time, a3 every other item, a4 only 2,000 items), answers spread
over 30 days, rare "Mixed" answers (1 in 1,000 of a3's), reviews of 6 % of a1's answers
(accept / reject / correct), ground truth for 60 % of the items, lifecycle states spread over
every state (signed_off rare).

Measured, for every filter (dense and sparse variants): ``Project.browse`` (first page of 50
+ the count) in-process, and ``GET /api/projects/bench/browse`` through the app in-process
(Starlette's TestClient: routing, auth, JSON), each the median of --repeat runs after one
warm-up. Target (issue 12): <= 300 ms server time for each filter at N = 1,000,000.

Counts are exact up to 10,000 and "10,000+" past it (``total_exact`` false): an exact count of
a dense filter would read every matching row of 1M.

    .venv/bin/python bench/bench_browse.py --n 100000           # while developing
    .venv/bin/python bench/bench_browse.py --n 1000000          # the figure for the README
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import common

SCHEMA = {"fields": [{"name": "sentiment", "type": "choice",
                      "options": ["Positive", "Negative", "Neutral", "Mixed"]}]}
TARGET_MS = 300.0
DAY = 86_400.0

#: (name, query): every filter of the browser, dense and sparse where it matters
CASES = [
    ("no filter", ""),
    ("status dense (submitted)", "status=submitted"),
    ("status sparse (signed_off)", "status=signed_off"),
    ("annotator dense (a3, 50 %)", "annotator=a3"),
    ("annotator sparse (a4, 2,000)", "annotator=a4"),
    ("label dense (Positive)", "label=sentiment%3DPositive"),
    ("label sparse (Mixed, ~0.05 %)", "label=sentiment%3DMixed"),
    ("agreement: all agree", "agreement=agree"),
    ("agreement: disagree", "agreement=disagree"),
    ("ground truth: has", "gt=has"),
    ("ground truth: none", "gt=none"),
    ("ground truth: value", "gt=sentiment%3DNegative"),
    ("review: accepted", "review=accepted"),
    ("review: rejected", "review=rejected"),
    ("review: corrected", "review=corrected"),
    ("review: unreviewed", "review=unreviewed"),
    ("imported: last batch", "imported_from={batch3}"),
    ("imported: range", "imported_from={batch1}&imported_to={batch2}"),
    ("answered: last 10 days", "annotated_from={recent}"),
    ("answered: one minute (sparse)", "annotated_from={hour0}&annotated_to={hour1}"),
    ("metadata (lang=de)", "meta=lang%3Dde"),
    ("text search (common word)", "q=latency"),
    ("sort newest first", "sort=-id"),
    ("combined: a3 + Negative + en", "annotator=a3&label=sentiment%3DNegative&meta=lang%3Den"),
]


def build(folder: Path, n: int, cache_items: str | None) -> None:
    """The project (see the module docstring). Bench set-up only: SQL through p.db.write()."""
    from sqlalchemy import text

    from truelabel import Workspace

    ws = Workspace.init(folder)
    p = ws.create_project(common.PROJECT, SCHEMA, overlap=2)
    path, _ = common.items_file(n, 7, folder, cache_items)
    t0 = time.perf_counter()
    p.import_file(str(path))
    print(f"  imported {n:,} items in {time.perf_counter() - t0:.1f} s", flush=True)
    users = {}
    for name, role in (("a1", "annotator"), ("a2", "annotator"), ("a3", "annotator"),
                       ("a4", "annotator"), ("rev", "reviewer"), ("boss", "manager")):
        users[name] = ws.add_user(name, common.PASSWORD, role=role)
        p.add_member(users[name], role)
    first = p.items(limit=1)[0]["id"]
    p.annotate(first, {"sentiment": "Positive"}, users["a1"], key="bench-first")
    with p.db.read() as conn:
        ref = conn.execute(text("SELECT schema_version_id, guideline_version_id, created_at "
                                "FROM annotations ORDER BY id LIMIT 1")).one()
    sid, gv, now = ref.schema_version_id, ref.guideline_version_id, ref.created_at
    labels = "CASE {x} WHEN 0 THEN '{{\"sentiment\":\"Positive\"}}' WHEN 1 THEN " \
             "'{{\"sentiment\":\"Negative\"}}' ELSE '{{\"sentiment\":\"Neutral\"}}' END"
    t0 = time.perf_counter()
    with p.db.write(bulk=True) as conn:
        def run(sql: str, **params: Any) -> None:
            conn.execute(text(sql), {"p": p.id, "now": now, "first": first, **params})

        # four batches a week apart, slice metadata by id
        bid = conn.execute(text("SELECT id FROM import_batches WHERE project_id = :p"),
                           {"p": p.id}).scalar_one()
        for k in range(1, 4):
            run("INSERT INTO import_batches (project_id, source, format, created_at, n_read, "
                "n_added) VALUES (:p, :s, 'jsonl', :t, 0, 0)", s=f"part{k}",
                t=now - (3 - k) * 7 * DAY)
        run("UPDATE import_batches SET created_at = :t WHERE id = :b", t=now - 3 * 7 * DAY, b=bid)
        run("UPDATE items SET batch_id = :b + (id * 4 / (:n + 1)), meta = CASE id % 4 "
            "WHEN 0 THEN '{\"lang\":\"en\"}' WHEN 1 THEN '{\"lang\":\"de\"}' WHEN 2 THEN "
            "'{\"lang\":\"fr\"}' ELSE '{\"lang\":\"es\"}' END WHERE project_id = :p", b=bid, n=n)
        # answers: a1 and a2 on every item, a3 on every other, a4 on 2,000
        plan = [("a1", "1 = 1", labels.format(x="(i.id * 7) % 3")),
                ("a2", "1 = 1", "CASE WHEN (i.id * 13) % 10 < 7 THEN "
                 + labels.format(x="(i.id * 7) % 3") + " ELSE "
                 + labels.format(x="(i.id * 7 + 1) % 3") + " END"),
                ("a3", "i.id % 2 = 0", "CASE WHEN i.id % 1000 = 0 THEN "
                 "'{\"sentiment\":\"Mixed\"}' ELSE " + labels.format(x="(i.id * 11) % 3") + " END"),
                ("a4", "i.id % 500 = 1", labels.format(x="i.id % 3"))]
        for name, where, value in plan:
            u = users[name].id
            skip = "AND i.id <> :first" if name == "a1" else ""
            run("INSERT INTO assignments (project_id, item_id, user_id, status, created_at) "
                f"SELECT :p, i.id, :u, 'submitted', :now FROM items i WHERE i.project_id = :p "
                f"AND {where} {skip} ORDER BY i.id", u=u)
            run("INSERT INTO annotations (project_id, item_id, user_id, assignment_id, "
                "schema_version_id, guideline_version_id, value, idempotency_key, is_current, "
                "origin, created_at) "
                f"SELECT a.project_id, a.item_id, a.user_id, a.id, :sid, :gv, {value}, "
                "'bench-' || a.id, 1, 'human', :now - (a.item_id % 30) * 86400.0 - "
                "(a.item_id % 997) FROM assignments a JOIN items i ON i.id = a.item_id "
                f"WHERE a.project_id = :p AND a.user_id = :u {skip} ORDER BY a.id",
                u=u, sid=sid, gv=gv)
        run("UPDATE items SET n_taken = (SELECT COUNT(*) FROM assignments a WHERE "
            "a.item_id = items.id), open = 0 WHERE project_id = :p")
        run("UPDATE items SET n_done = n_taken WHERE project_id = :p")
        # reviews of 6 % of a1's answers, ground truth for 60 % of the items
        run("INSERT INTO reviews (project_id, item_id, annotation_id, stage, reviewer_id, "
            "decision, comment, created_at) SELECT :p, a.item_id, a.id, 1, :r, CASE "
            "a.item_id % 3 WHEN 0 THEN 'accept' WHEN 1 THEN 'reject' ELSE 'correct' END, '', "
            ":now FROM annotations a WHERE a.project_id = :p AND a.user_id = :u "
            "AND (a.item_id * 17) % 100 < 6", r=users["rev"].id, u=users["a1"].id)
        run("INSERT INTO ground_truth (item_id, field, project_id, value, confidence, method, "
            "contributors, computed_at) SELECT a.item_id, 'sentiment', :p, "
            "json_extract(a.value, '$.sentiment'), 0.9, 'majority', '[]', :now FROM annotations "
            "a WHERE a.project_id = :p AND a.user_id = :u AND (a.item_id * 31) % 10 < 6",
            u=users["a1"].id)
        run("UPDATE ground_truth SET value = '\"' || value || '\"' WHERE project_id = :p")
        run("UPDATE items SET state = CASE WHEN id % 200 = 7 THEN 'signed_off' ELSE CASE id % 10 "
            "WHEN 0 THEN 'in_review' WHEN 1 THEN 'rejected' WHEN 2 THEN 'in_adjudication' "
            "WHEN 3 THEN 'decided' WHEN 4 THEN 'in_progress' WHEN 5 THEN 'queued' "
            "ELSE 'submitted' END END WHERE project_id = :p")
    print(f"  answers, reviews, truth and states written in {time.perf_counter() - t0:.1f} s",
          flush=True)
    ws.close()


def when(ts: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")


def measure(folder: Path, repeat: int) -> list[dict[str, Any]]:
    from fastapi.testclient import TestClient

    from truelabel import Workspace
    from truelabel.server.app import create_app

    ws = Workspace.open(str(folder))
    p = ws.project(common.PROJECT)
    boss = ws.get_user("boss")
    with p.db.read() as conn:
        from sqlalchemy import text

        stamps = [float(r[0]) for r in conn.execute(text(
            "SELECT created_at FROM import_batches ORDER BY created_at"))]
        newest = float(conn.execute(text("SELECT MAX(created_at) FROM annotations")).scalar_one())
    marks = {"batch1": when(stamps[1]), "batch2": when(stamps[2] - 1), "batch3": when(stamps[3]),
             "recent": when(newest - 10 * DAY), "hour0": when(newest - 5 * DAY - 60),
             "hour1": when(newest - 5 * DAY + 1)}
    client = TestClient(create_app(ws), headers={
        "Authorization": f"Bearer {ws.create_token(boss, name='bench')}"})
    out = []
    for name, template in CASES:
        query = template.format(**marks)
        core_ms, http_ms = [], []
        page: dict[str, Any] = {}
        for i in range(repeat + 1):
            t0 = time.perf_counter()
            page = p.browse(query, actor=boss)
            t1 = time.perf_counter()
            r = client.get(f"/api/projects/{common.PROJECT}/browse?{query}")
            t2 = time.perf_counter()
            assert r.status_code == 200, r.text
            if i:  # the first run warms the page cache
                core_ms.append((t1 - t0) * 1000)
                http_ms.append((t2 - t1) * 1000)
        total = (("~" if page["total_estimated"] else "") + f"{page['total']:,}"
                 + ("" if page["total_exact"] or page["total_estimated"] else "+"))
        out.append({"filter": name, "query": query, "rows": len(page["items"]), "total": total,
                    "plan": page["plan"], "core_ms": round(statistics.median(core_ms), 1),
                    "core_max_ms": round(max(core_ms), 1),
                    "http_ms": round(statistics.median(http_ms), 1),
                    "http_max_ms": round(max(http_ms), 1)})
        row = out[-1]
        print(f"  {name:<34} {row['total']:>10} {row['plan']:<7} core {row['core_ms']:>7} ms  "
              f"http {row['http_ms']:>7} ms", flush=True)
    client.close()
    ws.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "truelabel-bench-browse"),
                    help="folder for the built project (reused) and the items file")
    ap.add_argument("--rebuild", action="store_true", help="build the project again")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    cache = Path(args.cache)
    folder = cache / f"ws_n{args.n}"
    if args.rebuild and folder.exists():
        import shutil

        shutil.rmtree(folder)
    if not (folder / "truelabel.db").exists():
        print(f"building a {args.n:,}-item project in {folder} …", flush=True)
        t0 = time.perf_counter()
        build(folder, args.n, str(cache))
        print(f"  built in {time.perf_counter() - t0:.1f} s", flush=True)
    rows = measure(folder, args.repeat)
    worst = max(max(r["core_ms"], r["http_ms"]) for r in rows)
    common.print_table(
        f"data browser, first page (50) + count, {args.n:,} items, median of {args.repeat}",
        [(r["filter"], f"{r['total']} ({r['plan']})",
          f"core {r['core_ms']} ms (max {r['core_max_ms']}), http {r['http_ms']} ms "
          f"(max {r['http_max_ms']})") for r in rows])
    over = [r["filter"] for r in rows if max(r["core_ms"], r["http_ms"]) > TARGET_MS]
    print(f"worst median {worst:.1f} ms; target {TARGET_MS:.0f} ms; over target: "
          f"{', '.join(over) or 'none'}")
    out = args.out or str(common.RESULTS / f"browse_n{args.n}.json")
    common.write_json(out, {"n": args.n, "repeat": args.repeat, "target_ms": TARGET_MS,
                            "machine": common.machine_info(), "cases": rows,
                            "over_target": over})
    return 0


if __name__ == "__main__":
    sys.exit(main())
