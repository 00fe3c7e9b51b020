#!/usr/bin/env python3
"""next-task + submit cycles over HTTP against a real uvicorn server (1 and C clients).

Set-up (timed, not a target): a fresh workspace with project ``bench`` of N items (the peer's
``make_texts`` texts, same seed), overlap 1, one annotator user for the sequential phase and C
more (one per concurrent client), each with an API token. Then ``uvicorn`` is started in a
subprocess on loopback (``common.Server``) and driven by cheap clients: one thread per client,
each with one keep-alive ``http.client`` connection.

Phases (like the peer baseline's ``seq`` and ``conc_users``):
  seq   -- 1 client, ``--seq-cycles`` cycles;
  conc  -- C clients (distinct users) started together, ``--conc-cycles`` cycles in all;
  paced -- optional (``--paced-rate R``): the same clients offer R cycles/s together, each on
           a fixed schedule, and next's latency counts from when it was due. What annotators
           see at a load the server can carry; not the targets' measure (which is ``conc``:
           clients that never pause, where latency is C / throughput on average).
A cycle is ``POST /api/projects/bench/tasks/next`` then ``POST .../tasks/{id}/submit``.
Reported: cycles/s, next/submit/cycle p50/p95/p99, CPU of server and client, server peak RSS.

Integrity, checked afterwards through the library (``Project.status`` and the store's SQL via
``p.db.read()``): annotations stored == successful submits, no item handed to two clients, no
item with more than one live assignment or annotation (overlap 1).

Targets (N = 1,000,000): p99 cycle <= 15 ms with 1 client; >= 400 cycles/s with 8 (issue 2,
SQLite); on PostgreSQL with 50 clients >= 800 cycles/s and p99 <= 50 ms (issue 4; judged on
each request's p99, see ``PG_CLIENTS``).

    .venv/bin/python bench/bench_cycle.py --n 1000000 --seq-cycles 2000 --conc-cycles 8000
    .venv/bin/python bench/bench_cycle.py --n 1000000 --priorities random  # claim order set
    .venv/bin/python bench/bench_cycle.py --n 1000000 --clients 50 --conc-cycles 30000 \
        --workers 2 --client aio --db-url postgresql+psycopg://USER:PW@127.0.0.1/DB
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import random
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import common
import orjson

TARGET_N = 1_000_000
P99_TARGET_MS = 15.0
THROUGHPUT_TARGET = 400.0
TARGET_CLIENTS = 8
# issue 4, PostgreSQL: 50 clients, >= 800 cycles/s, p99 <= 50 ms. With 50 clients that never
# pause, a cycle lasts 50 / throughput on average (Little's law): 62.5 ms at 800 cycles/s,
# so the 50 ms bound can only be a request's (next or submit), not a whole cycle's. Both are
# reported; the target is judged on the slower request's p99.
PG_CLIENTS = 50
PG_THROUGHPUT_TARGET = 800.0
PG_P99_TARGET_MS = 50.0


def request_p99(phase: dict[str, Any]) -> float:
    """The p99 of the slower of the two requests (next, submit) in a phase."""
    return max(phase["next"].get("p99_ms", 0.0), phase["submit"].get("p99_ms", 0.0))


class ClientRun:
    """What one client saw: items served, and per completed cycle its timings and the id of
    the annotation its submit stored."""

    def __init__(self) -> None:
        self.items: list[int] = []
        self.nexts: list[float] = []
        self.subs: list[float] = []
        self.cycles: list[float] = []
        self.ann_ids: list[int] = []

    def leased(self, next_body: bytes, rng: random.Random, key: str) -> tuple[int, bytes]:
        """The task a next answered: records its item; returns its id and a submit body."""
        task = orjson.loads(next_body)
        self.items.append(task["item_id"])
        return task["id"], orjson.dumps({"value": {"sentiment": rng.choice(common.LABELS)},
                                         "idempotency_key": key})

    def cycle(self, t0: float, t1: float, t2: float, t3: float, submit_body: bytes) -> None:
        """next ran t0..t1, submit t2..t3 and answered ``submit_body``."""
        self.nexts.append(t1 - t0)
        self.subs.append(t3 - t2)
        self.cycles.append(t3 - t0)
        self.ann_ids.append(orjson.loads(submit_body)["id"])


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.next_s: list[float] = []
        self.submit_s: list[float] = []
        self.cycle_s: list[float] = []
        self.errors: Counter = Counter()
        self.error_samples: list[str] = []
        self.no_task = 0
        self.ok_submits = 0
        self.annotation_ids: list[int] = []
        self.items_by_client: dict[str, list[int]] = {}
        self.client_mean_s: dict[str, float] = {}

    def record(self, name: str, run: ClientRun) -> None:
        """One client's results, when it is done."""
        with self.lock:
            self.next_s += run.nexts
            self.submit_s += run.subs
            self.cycle_s += run.cycles
            self.ok_submits += len(run.ann_ids)
            self.annotation_ids += run.ann_ids
            self.items_by_client[name] = run.items
            if run.nexts:
                self.client_mean_s[name] = (sum(run.nexts) + sum(run.subs)) / (2 * len(run.nexts))

    def err(self, key: str, detail: str) -> None:
        with self.lock:
            self.errors[key] += 1
            if len(self.error_samples) < 10:
                self.error_samples.append(f"{key} {detail[:300]}")


def client_loop(port: int, token: str, name: str, cycles: int, seed: int, run_id: str,
                stats: Stats, barrier: threading.Barrier) -> None:
    """One annotator: ``cycles`` next+submit cycles over one keep-alive connection."""
    rng = random.Random(seed)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    auth = f"Bearer {token}"
    h_next = {"Authorization": auth, "Content-Length": "0"}
    h_sub = {"Authorization": auth, "Content-Type": "application/json"}
    next_path = f"/api/projects/{common.PROJECT}/tasks/next"
    run = ClientRun()
    clock = time.perf_counter
    barrier.wait()
    for i in range(cycles):
        t0 = clock()
        try:
            conn.request("POST", next_path, headers=h_next)
            r = conn.getresponse()
            body = r.read()
        except (OSError, http.client.HTTPException) as e:
            stats.err("next:exc", repr(e))
            conn.close()
            continue
        t1 = clock()
        if r.status == 204:
            with stats.lock:
                stats.no_task += 1
            break
        if r.status != 200:
            stats.err(f"next:{r.status}", body.decode(errors="replace"))
            continue
        task_id, payload = run.leased(body, rng, f"{run_id}-{name}-{i}")
        t2 = clock()
        try:
            conn.request("POST", f"/api/projects/{common.PROJECT}/tasks/{task_id}/submit",
                         body=payload, headers=h_sub)
            r = conn.getresponse()
            body = r.read()
        except (OSError, http.client.HTTPException) as e:
            stats.err("submit:exc", repr(e))
            conn.close()
            continue
        t3 = clock()
        if r.status != 200:
            stats.err(f"submit:{r.status}", body.decode(errors="replace"))
            continue
        run.cycle(t0, t1, t2, t3, body)
    conn.close()
    stats.record(name, run)


class _Http(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection, one request at a time, as a bare protocol: the
    response is parsed from the bytes as they arrive (the server sends Content-Length),
    with no stream reader in between, so the measuring process spends little CPU."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.transport: Any = None
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buf += data
        end = self.buf.find(b"\r\n\r\n")
        if end < 0 or self.waiter is None:
            return
        head = bytes(self.buf[:end + 2]).lower()
        at = head.find(b"\r\ncontent-length:")
        size = int(head[at + 17:head.index(b"\r\n", at + 2)]) if at >= 0 else 0
        if len(self.buf) < end + 4 + size:
            return
        body = bytes(self.buf[end + 4:end + 4 + size])
        status = int(self.buf[9:12])
        del self.buf[:end + 4 + size]
        self.waiter.set_result((status, body))
        self.waiter = None

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc or ConnectionError("the server closed the connection"))

    def request(self, data: bytes) -> asyncio.Future[tuple[int, bytes]]:
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return self.waiter


async def aio_client(port: int, token: str, name: str, cycles: int, seed: int, run_id: str,
                     stats: Stats, start: asyncio.Event,
                     pace: tuple[list[float], float, float] | None = None) -> None:
    """``client_loop`` as a coroutine: every client of a phase shares one thread and one
    event loop, so the measuring process costs the machine a fraction of 50 threads'.

    ``pace`` = (``[t0]``, period, offset): cycle ``i`` is due at t0 + offset + i * period
    (t0 set when the phase starts). The client waits until then, or starts at once when it
    is late; next's latency counts from the due time, so time spent behind schedule counts
    too (no coordinated omission)."""
    rng = random.Random(seed)
    _, conn = await asyncio.get_running_loop().create_connection(_Http, "127.0.0.1", port)
    base = f"Host: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
    next_req = (f"POST /api/projects/{common.PROJECT}/tasks/next HTTP/1.1\r\n{base}"
                "Content-Length: 0\r\n\r\n").encode()
    run = ClientRun()
    clock = time.perf_counter
    await start.wait()
    for i in range(cycles):
        t0 = clock()
        if pace is not None:
            due = pace[0][0] + pace[2] + i * pace[1]
            if due > t0:
                await asyncio.sleep(due - t0)
            t0 = due
        status, body = await conn.request(next_req)
        t1 = clock()
        if status == 204:
            stats.no_task += 1
            break
        if status != 200:
            stats.err(f"next:{status}", body.decode(errors="replace"))
            continue
        task_id, payload = run.leased(body, rng, f"{run_id}-{name}-{i}")
        t2 = clock()
        status, body = await conn.request(
            (f"POST /api/projects/{common.PROJECT}/tasks/{task_id}/submit "
             f"HTTP/1.1\r\n{base}Content-Type: application/json\r\n"
             f"Content-Length: {len(payload)}\r\n\r\n").encode() + payload)
        t3 = clock()
        if status != 200:
            stats.err(f"submit:{status}", body.decode(errors="replace"))
            continue
        run.cycle(t0, t1, t2, t3, body)
    conn.transport.close()
    stats.record(name, run)


def _drive_aio(port: int, tokens: dict[str, str], per: list[int], seed: int, run_id: str,
               stats: Stats, server_pid: int, rate: float | None = None
               ) -> tuple[float, dict[str, Any]]:
    async def main() -> tuple[float, dict[str, Any]]:
        start = asyncio.Event()
        began = [0.0]
        period = len(tokens) / rate if rate else 0.0  # each client's share of the rate
        tasks = [asyncio.create_task(aio_client(
                     port, tokens[n], n, per[i], seed + i, run_id, stats, start,
                     (began, period, period * i / len(tokens)) if rate else None))
                 for i, n in enumerate(tokens)]
        await asyncio.sleep(0.5)  # every connection open before the clock starts
        s0 = common.cpu_snapshot(server_pid)
        t0 = began[0] = time.perf_counter()
        start.set()
        await asyncio.gather(*tasks)
        wall = time.perf_counter() - t0
        return wall, common.cpu_usage(s0, common.cpu_snapshot(server_pid))

    try:
        import uvloop
        return uvloop.run(main())
    except ImportError:
        return asyncio.run(main())


def run_phase(port: int, tokens: dict[str, str], total: int, seed: int, run_id: str,
              server_pid: int, client: str = "threads", rate: float | None = None
              ) -> dict[str, Any]:
    """``total`` cycles over the clients of ``tokens``, each as fast as it can, or with
    ``rate`` (``aio`` only) paced to that many cycles per second over all of them."""
    stats = Stats()
    names = list(tokens)
    per = [total // len(names) + (1 if i < total % len(names) else 0) for i in range(len(names))]
    if client == "aio":
        wall, cpu = _drive_aio(port, tokens, per, seed, run_id, stats, server_pid, rate)
    else:
        wall, cpu = _drive_threads(port, tokens, per, seed, run_id, stats, server_pid)
    seen_by: dict[int, set[str]] = {}
    all_items: list[int] = []
    for name, items in stats.items_by_client.items():
        all_items += items
        for it in items:
            seen_by.setdefault(it, set()).add(name)
    shared = {it: sorted(v) for it, v in seen_by.items() if len(v) > 1}
    return {
        "clients": len(names),
        "client": client,
        "paced_rate": rate,
        "planned_cycles": total,
        "ok_cycles": stats.ok_submits,
        "wall_s": round(wall, 3),
        "cycles_per_s": round(stats.ok_submits / wall, 2) if wall > 0 else None,
        "next": common.summarize_ms(stats.next_s),
        "submit": common.summarize_ms(stats.submit_s),
        "cycle": common.summarize_ms(stats.cycle_s),
        "errors": dict(stats.errors),
        "error_samples": stats.error_samples,
        "no_task_204": stats.no_task,
        "distinct_items_served": len(seen_by),
        "items_served_to_more_than_one_client": len(shared),
        "item_servings_beyond_first": sum(c - 1 for c in Counter(all_items).values() if c > 1),
        "shared_item_examples": dict(list(shared.items())[:5]),
        "client_request_mean_ms": _spread(stats.client_mean_s),
        "cpu": cpu,
        "_annotation_ids": stats.annotation_ids,
    }


def _spread(means: dict[str, float]) -> dict[str, Any]:
    """How evenly the server treated the clients: each client's mean request latency,
    as min / median / max over the clients (a wide spread shows uneven load on workers)."""
    if not means:
        return {}
    ms = sorted(v * 1000 for v in means.values())
    return {"min": round(ms[0], 2), "median": round(ms[len(ms) // 2], 2),
            "max": round(ms[-1], 2), "all": [round(v, 1) for v in ms]}


def _drive_threads(port: int, tokens: dict[str, str], per: list[int], seed: int, run_id: str,
                   stats: Stats, server_pid: int) -> tuple[float, dict[str, Any]]:
    barrier = threading.Barrier(len(tokens) + 1)
    threads = [threading.Thread(target=client_loop, daemon=True,
                                args=(port, tokens[n], n, per[i], seed + i, run_id, stats,
                                      barrier))
               for i, n in enumerate(tokens)]
    for t in threads:
        t.start()
    barrier.wait()
    s0 = common.cpu_snapshot(server_pid)
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return wall, common.cpu_usage(s0, common.cpu_snapshot(server_pid))


def clean_phase(args: argparse.Namespace, port: int, tokens: dict[str, str], total: int,
                seed: int, run_id: str, server_pid: int) -> dict[str, Any]:
    """``run_phase``, repeated (up to ``--retries`` times) while other processes on this
    shared machine took more than ``--max-others`` cores during it; keeps the cleanest run.

    Every attempt's submits stay in the store and are counted by the integrity check.
    """
    attempts: list[dict[str, Any]] = []
    warm = args.warmup_cycles if len(tokens) > 1 else 0
    if warm:  # same clients, not measured; its submits count in the integrity check
        print(f"  warm-up: {warm} cycles ...", flush=True)
        w = run_phase(port, tokens, warm, seed + 50_000, f"{run_id}w", server_pid, args.client)
        print(f"  warm-up: {w['cycles_per_s']} cycles/s", flush=True)
    for k in range(args.retries + 1):
        if k:
            common.wait_quiet(args.quiet_wait)
        ph = run_phase(port, tokens, total, seed + 100_000 * k, f"{run_id}a{k}", server_pid,
                       args.client)
        attempts.append(ph)
        others = ph["cpu"].get("other_processes_cores", 0.0)
        print(f"  attempt {k + 1}: {ph['cycles_per_s']} cycles/s, cycle p99 "
              f"{ph['cycle'].get('p99_ms')} ms, other processes {others} cores", flush=True)
        if others <= args.max_others or ph["no_task_204"]:
            break
    best = min(attempts, key=lambda a: a["cpu"].get("other_processes_cores", 0.0))
    if warm:
        best["warmup"] = {"cycles": warm, "ok_cycles": w["ok_cycles"],
                          "cycles_per_s": w["cycles_per_s"],
                          "cycle_p99_ms": w["cycle"].get("p99_ms")}
        best["_annotation_ids"] = best["_annotation_ids"] + w["_annotation_ids"]
        best["_discarded_ok_cycles"] = best.get("_discarded_ok_cycles", 0) + w["ok_cycles"]
        best["items_served_to_more_than_one_client"] += w["items_served_to_more_than_one_client"]
    best["attempts"] = [{"cycles_per_s": a["cycles_per_s"], "ok_cycles": a["ok_cycles"],
                         "cycle_p99_ms": a["cycle"].get("p99_ms"),
                         "other_processes_cores": a["cpu"].get("other_processes_cores"),
                         "kept": a is best} for a in attempts]
    for a in attempts:
        if a is not best:
            best["_annotation_ids"] += a["_annotation_ids"]
            best["_discarded_ok_cycles"] = best.get("_discarded_ok_cycles", 0) + a["ok_cycles"]
            for it, names in a["shared_item_examples"].items():
                best["shared_item_examples"].setdefault(it, names)
            best["items_served_to_more_than_one_client"] += a[
                "items_served_to_more_than_one_client"]
    return best


def integrity(folder: Any, phases: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Cross-check the store against what the clients saw (through the library)."""
    from sqlalchemy import text

    from truelabel import Workspace

    submitted_ids: list[int] = []
    for ph in phases.values():
        submitted_ids += ph.pop("_annotation_ids")
    ws = Workspace.open(folder)
    try:
        p = ws.project(common.PROJECT)
        st = p.status()
        with p.db.read() as conn:
            q = {
                "annotations": "SELECT COUNT(*) FROM annotations WHERE project_id = :p",
                "items_with_annotations": "SELECT COUNT(DISTINCT item_id) FROM annotations "
                                          "WHERE project_id = :p",
                "items_with_2plus_annotations": "SELECT COUNT(*) FROM (SELECT item_id FROM "
                    "annotations WHERE project_id = :p GROUP BY item_id HAVING COUNT(*) > 1) d",
                "items_with_2plus_live_assignments": "SELECT COUNT(*) FROM (SELECT item_id "
                    "FROM assignments WHERE project_id = :p AND status <> 'expired' "
                    "GROUP BY item_id HAVING COUNT(*) > 1) d",
                "items_n_taken_above_overlap": "SELECT COUNT(*) FROM items "
                                               "WHERE project_id = :p AND n_taken > 1",
            }
            got = {k: int(conn.execute(text(sql), {"p": p.id}).scalar_one())
                   for k, sql in q.items()}
            stored_ids = {int(r[0]) for r in conn.execute(
                text("SELECT id FROM annotations WHERE project_id = :p"), {"p": p.id})}
    finally:
        ws.close()
    sub = set(submitted_ids)
    got.update({
        "successful_submits": len(submitted_ids),
        "distinct_annotation_ids_returned": len(sub),
        "status_submitted": st["submitted"],
        "lost_annotations": len(sub - stored_ids),
        "unexpected_annotations": len(stored_ids - sub),
    })
    got["ok"] = (got["annotations"] == got["successful_submits"] == len(sub)
                 == got["status_submitted"] and got["lost_annotations"] == 0
                 and got["unexpected_annotations"] == 0
                 and got["items_with_2plus_annotations"] == 0
                 and got["items_with_2plus_live_assignments"] == 0
                 and got["items_n_taken_above_overlap"] == 0
                 and all(ph["items_served_to_more_than_one_client"] == 0
                         for ph in phases.values()))
    return got


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=TARGET_N, help="items in the project (default 1M)")
    ap.add_argument("--seed", type=int, default=42, help="seed of texts and chosen labels")
    ap.add_argument("--out", default=None,
                    help="JSON results file (default bench/results/cycle_n{N}.json; "
                         "cycle_pg_n{N}.json with --db-url)")
    ap.add_argument("--seq-cycles", type=int, default=500, help="cycles with 1 client")
    ap.add_argument("--clients", type=int, default=TARGET_CLIENTS,
                    help="concurrent clients (distinct annotator users); 0 skips the phase")
    ap.add_argument("--conc-cycles", type=int, default=504,
                    help="total cycles over all concurrent clients")
    ap.add_argument("--workers", type=int, default=1,
                    help="uvicorn worker processes (default 1: uvicorn.run(create_app(ws)))")
    ap.add_argument("--client", choices=["threads", "aio"], default="threads",
                    help="threads: one thread and http.client connection per client (default); "
                         "aio: every client a coroutine on one event loop, raw HTTP/1.1 over "
                         "keep-alive connections (a far cheaper client for many clients)")
    ap.add_argument("--warmup-cycles", type=int, default=0,
                    help="before the concurrent phase, this many cycles with the same clients, "
                         "not measured (connections, caches and plans settle)")
    ap.add_argument("--paced-rate", type=float, default=0,
                    help="after the concurrent phase, a paced one (aio client): the same "
                         "clients together offer this many cycles/s, each on a fixed "
                         "schedule; next's latency counts from when it was due (default 0: "
                         "none)")
    ap.add_argument("--paced-cycles", type=int, default=0,
                    help="cycles in the paced phase (default: 30 s at --paced-rate)")
    ap.add_argument("--data-cache", default=None,
                    help="folder to keep/reuse the generated JSONL in (default: temp, removed)")
    ap.add_argument("--tmp", default="/tmp", help="where the temporary workspace goes")
    ap.add_argument("--retries", type=int, default=2,
                    help="repeat a phase up to this many times if other processes were busy")
    ap.add_argument("--max-others", type=float, default=0.3,
                    help="cores other processes may use during a phase before it is repeated")
    ap.add_argument("--db-url", default=None,
                    help="PostgreSQL URL of a database the bench may create others beside, "
                         "e.g. postgresql+psycopg://truelabel:truelabel@127.0.0.1/truelabel_test "
                         "(default: embedded SQLite in a temp folder)")
    ap.add_argument("--priorities", choices=["none", "random"], default="none",
                    help="claim order: none (item id, the default) or random: a random "
                         "priority on every item before the measured phases "
                         "(Project.apply_claim_order(RandomOrder(seed)); docs/loop.md)")
    ap.add_argument("--quiet-wait", type=float, default=180.0,
                    help="wait up to this many seconds for other processes to go idle first")
    args = ap.parse_args()

    kind = "pg_" if args.db_url else ""  # PostgreSQL runs keep their own file
    out = args.out or str(common.RESULTS / f"cycle_{kind}n{args.n}.json")
    tmp = Path(tempfile.mkdtemp(prefix="truelabel-bench-cycle-", dir=args.tmp))
    run_id = uuid.uuid4().hex[:8]
    res: dict[str, Any] = {"bench": "cycle", "n": args.n, "seed": args.seed, "run_id": run_id,
                           "params": {k: v for k, v in vars(args).items() if k != "out"},
                           "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                           "machine": common.machine_info(), "memory": {}}
    server = None
    try:
        src, gen = common.items_file(args.n, args.seed, tmp, args.data_cache)
        res["data"] = gen
        folder = tmp / "ws"
        location: Any = folder
        if args.db_url:
            location = common.fresh_pg_database(args.db_url, f"truelabel_bench_{run_id}")
            res["backend"] = "postgresql"
        else:
            res["backend"] = "sqlite"
        ws, p = common.new_project(folder, db_url=args.db_url and location)
        t0 = time.perf_counter()
        r = p.import_file(src)
        res["setup"] = {"import_s": round(time.perf_counter() - t0, 2), "items": r.added}
        if args.priorities == "random":
            from truelabel.core.claim_order import RandomOrder

            t0 = time.perf_counter()
            p.apply_claim_order(RandomOrder(seed=args.seed))
            res["setup"]["priorities_s"] = round(time.perf_counter() - t0, 2)
        names = ["seq"] + [f"ann{i}" for i in range(args.clients)]
        tokens = common.add_annotators(ws, p, names)
        ws.close()
        if args.db_url:
            res["setup"]["vacuum_analyze_s"] = common.pg_vacuum(location)
        print(f"set-up: {res['setup']}; starting uvicorn ...", flush=True)

        res["quiet"] = common.wait_quiet(args.quiet_wait)
        server = common.Server(location, log=tmp / "server.log", workers=args.workers).start()
        res["server"] = {"port": server.port, "pid": server.pid, "workers": args.workers,
                         "cmd": "uvicorn.run(create_app(ws), host='127.0.0.1', "
                                "log_level='warning', access_log=False)" if args.workers == 1
                         else f"truelabel serve LOCATION --workers {args.workers}"}
        res["memory"]["server_start"] = common.read_mem(server.pid)
        phases: dict[str, dict[str, Any]] = {}
        if args.seq_cycles > 0:
            print(f"seq: {args.seq_cycles} cycles, 1 client ...", flush=True)
            phases["seq"] = clean_phase(args, server.port, {"seq": tokens["seq"]},
                                        args.seq_cycles, args.seed, run_id, server.pid)
            res["memory"]["after_seq"] = common.read_mem(server.pid)
            print(f"seq: {phases['seq']['cycles_per_s']} cycles/s, "
                  f"cycle p99 {phases['seq']['cycle'].get('p99_ms')} ms", flush=True)
        if args.clients > 0 and args.conc_cycles > 0:
            print(f"conc: {args.conc_cycles} cycles, {args.clients} clients ...", flush=True)
            conc_tokens = {n: tokens[n] for n in names[1:]}
            phases["conc"] = clean_phase(args, server.port, conc_tokens, args.conc_cycles,
                                         args.seed + 1000, run_id, server.pid)
            res["memory"]["after_conc"] = common.read_mem(server.pid)
            print(f"conc: {phases['conc']['cycles_per_s']} cycles/s, "
                  f"cycle p99 {phases['conc']['cycle'].get('p99_ms')} ms", flush=True)
            if args.paced_rate > 0:
                n_paced = args.paced_cycles or int(args.paced_rate * 30)
                print(f"paced: {n_paced} cycles at {args.paced_rate:g} cycles/s ...", flush=True)
                phases["paced"] = run_phase(server.port, conc_tokens, n_paced,
                                            args.seed + 2000, f"{run_id}p", server.pid, "aio",
                                            args.paced_rate)
                print(f"paced: {phases['paced']['cycles_per_s']} cycles/s, request p99 "
                      f"{request_p99(phases['paced'])} ms", flush=True)
        server.stop()
        log = (tmp / "server.log").read_text(errors="replace")
        res["server_log_tail"] = log[-2000:]
        res["server_log_errors"] = log.count("Traceback")
        server = None
        res["phases"] = phases
        res["integrity"] = integrity(location, phases)
    finally:
        if server is not None:
            server.stop()
        if args.db_url:
            common.drop_pg_database(args.db_url, f"truelabel_bench_{run_id}")
        shutil.rmtree(tmp, ignore_errors=True)

    res["targets"] = targets(res)
    res["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    common.write_json(out, res)
    report(res)
    return 0 if res["integrity"]["ok"] else 1


def targets(res: dict[str, Any]) -> dict[str, Any]:
    if res["n"] < TARGET_N:
        return {"judged": False}
    t: dict[str, Any] = {"judged": True}
    seq = res["phases"].get("seq")
    if seq and seq["cycle"].get("n"):
        t["seq_cycle_p99_le_15ms"] = seq["cycle"]["p99_ms"] <= P99_TARGET_MS
    conc = res["phases"].get("conc")
    if conc and conc["clients"] == TARGET_CLIENTS:
        t["conc8_ge_400_cycles_per_s"] = (conc["cycles_per_s"] or 0) >= THROUGHPUT_TARGET
    if conc and conc["clients"] == PG_CLIENTS and res["backend"] == "postgresql":
        t["pg50_ge_800_cycles_per_s"] = (conc["cycles_per_s"] or 0) >= PG_THROUGHPUT_TARGET
        t["pg50_request_p99_le_50ms"] = request_p99(conc) <= PG_P99_TARGET_MS
    t["zero_lost_or_duplicated"] = bool(res["integrity"]["ok"])
    return t


def report(res: dict[str, Any]) -> None:
    f = common.fmt
    tg = res["targets"]

    def mark(key: str) -> str:
        if not tg.get("judged") or key not in tg:
            return ""
        return "  [target met]" if tg[key] else "  [TARGET MISSED]"

    rows = [("set-up: import (library)", f(res["setup"]["import_s"], " s"),
             f"{res['setup']['items']:,} items")]
    pg50 = "pg50_ge_800_cycles_per_s" in tg
    labels = {"seq": ("sequential 1 client", "seq_cycle_p99_le_15ms"),
              "conc": ("concurrent, distinct users",
                       "pg50_ge_800_cycles_per_s" if pg50 else "conc8_ge_400_cycles_per_s"),
              "paced": ("paced (next from when due)", "")}
    for key, ph in res["phases"].items():
        label, tkey = labels[key]
        rows.append((f"{label}: cycles/s", f(ph["cycles_per_s"]),
                     f"{ph['ok_cycles']} ok of {ph['planned_cycles']}, {ph['clients']} "
                     f"client(s), errors={sum(ph['errors'].values())}"
                     f"{mark(tkey) if key == 'conc' else ''}"))
        for part in ("next", "submit", "cycle"):
            s = ph[part]
            if s.get("n"):
                rows.append((f"  {part} p50/p95/p99", f"{s['p50_ms']}/{s['p95_ms']}/"
                             f"{s['p99_ms']} ms", f"mean {s['mean_ms']} ms, max {s['max_ms']} ms"
                             f"{mark(tkey) if key == 'seq' and part == 'cycle' else ''}"))
        if ph.get("warmup"):
            wu = ph["warmup"]
            rows.append(("  after a warm-up of (not measured)", f"{wu['cycles']:,} cycles",
                         f"{wu['cycles_per_s']} cycles/s, cycle p99 {wu['cycle_p99_ms']} ms"))
        if key == "conc" and pg50:
            rows.append(("  slower request's p99 (target <= 50 ms)", f"{request_p99(ph)} ms",
                         f"cycle p99 {ph['cycle'].get('p99_ms')} ms (a cycle is two requests)"
                         f"{mark('pg50_request_p99_le_50ms')}"))
        if key == "paced":
            rows.append(("  offered rate / slower request's p99", f"{ph['paced_rate']:g} "
                         f"cycles/s / {request_p99(ph)} ms", "not the target's measure: "
                         "the clients wait for their schedule"))
        rows.append(("  items served to >1 client", f(ph["items_served_to_more_than_one_client"]),
                     f"{ph['distinct_items_served']:,} distinct items served"))
        c = ph["cpu"]
        if c:
            pg = f"PostgreSQL {c['postgres_cores']}, " if "postgres_cores" in c else ""
            rows.append(("  CPU cores busy", f"{c['machine_cores_busy']} of {c['ncpu']}",
                         f"server {c['server_cores']}, {pg}bench client "
                         f"{c['bench_client_cores']}, other processes "
                         f"{c['other_processes_cores']}"))
    ig = res["integrity"]
    rows.append(("annotations stored / submits ok", f"{ig['annotations']} / "
                 f"{ig['successful_submits']}",
                 f"lost={ig['lost_annotations']}, items with >1 annotation="
                 f"{ig['items_with_2plus_annotations']}, >1 live assignment="
                 f"{ig['items_with_2plus_live_assignments']} -> "
                 f"{'OK' if ig['ok'] else 'INTEGRITY FAILURE'}"
                 f"{mark('zero_lost_or_duplicated')}"))
    for k, v in res["memory"].items():
        rows.append((f"server peak RSS @ {k}", f"{v['peak_rss_mib']} MiB",
                     f"current RSS {v['rss_mib']} MiB"))
    common.print_table(f"truelabel next+submit over HTTP ({res['backend']}, "
                       f"{res['server']['workers']} worker(s), {res['params']['client']} client), "
                       f"N={res['n']:,}, seed {res['seed']}", rows)


if __name__ == "__main__":
    sys.exit(main())
