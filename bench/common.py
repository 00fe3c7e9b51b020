"""Shared helpers for truelabel's bench scripts (they print figures; they are not tests).

- the deterministic synthetic texts of the peer baseline (``make_texts``, same algorithm and
  seed as /work/shared/bench/label_studio_baseline.py), written as JSONL;
- percentiles, /proc memory (VmHWM/VmRSS) and CPU accounting like the peer's;
- a uvicorn launcher: ``python bench/common.py serve FOLDER PORT`` opens a workspace and
  serves ``create_app(ws)`` on 127.0.0.1 (started in a subprocess by ``Server``);
- bench-setup helpers (workspace + project + users, bulk annotations through SQL).
"""

from __future__ import annotations

import json
import os
import platform
import random
import re
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
PROJECT = "bench"
SCHEMA = {"fields": [{"name": "sentiment", "type": "choice",
                      "options": ["Positive", "Negative", "Neutral"]}]}
LABELS = ["Positive", "Negative", "Neutral"]
PASSWORD = "bench-pass-123"

# identical to the peer's WORDS / make_texts, so both sides import the same texts
WORDS = (
    "data label model train test annotate quality review export import version dataset "
    "sample text image audio video batch queue worker server client request response "
    "latency throughput memory storage index query filter sort page token user project "
    "task result choice region span entity class score metric error retry commit branch "
    "merge diff schema field value record stream chunk shard replica cache lock thread"
).split()


# --------------------------------------------------------------------------- data


def iter_texts(n: int, seed: int, target_len: int = 200):
    """The peer's ``make_texts`` as a generator (same RNG calls, same output)."""
    rng = random.Random(seed)
    choice = rng.choice
    words = WORDS
    for i in range(n):
        parts = [f"#{i}"]
        length = len(parts[0])
        while length < target_len:
            w = choice(words)
            parts.append(w)
            length += len(w) + 1
        yield " ".join(parts)[:target_len].rstrip() + "."


def make_texts(n: int, seed: int, target_len: int = 200) -> list[str]:
    return list(iter_texts(n, seed, target_len))


def write_items_jsonl(path: Path, n: int, seed: int) -> dict[str, Any]:
    """Write ``{"text": ..., "idx": i}`` per line (the peer imports ``{"data": {same}}``)."""
    import orjson

    t0 = time.perf_counter()
    with open(path, "wb") as fh:
        buf: list[bytes] = []
        for i, t in enumerate(iter_texts(n, seed)):
            buf.append(orjson.dumps({"text": t, "idx": i}))
            if len(buf) >= 50_000:
                fh.write(b"\n".join(buf) + b"\n")
                buf = []
        if buf:
            fh.write(b"\n".join(buf) + b"\n")
    return {"n": n, "seed": seed, "bytes": path.stat().st_size,
            "mib": round(path.stat().st_size / 2**20, 1),
            "gen_s": round(time.perf_counter() - t0, 2)}


def items_file(n: int, seed: int, folder: Path, cache: str | None) -> tuple[Path, dict]:
    """The JSONL file of n items: reused from ``cache`` if there, else written to folder."""
    name = f"items_n{n}_seed{seed}.jsonl"
    if cache:
        c = Path(cache)
        c.mkdir(parents=True, exist_ok=True)
        p = c / name
        if p.exists():
            return p, {"n": n, "seed": seed, "bytes": p.stat().st_size, "cached": True}
        tmp = c / (name + f".tmp{os.getpid()}")
        info = write_items_jsonl(tmp, n, seed)
        os.replace(tmp, p)
        return p, info
    p = folder / name
    return p, write_items_jsonl(p, n, seed)


# --------------------------------------------------------------------------- statistics


def pct(values: list[float], p: float) -> float | None:
    """Percentile with linear interpolation (p in 0..100), as in the peer baseline."""
    if not values:
        return None
    s = sorted(values)
    if len(s) == 1:
        return s[0]
    k = (len(s) - 1) * p / 100.0
    f = int(k)
    c = min(f + 1, len(s) - 1)
    return s[f] + (s[c] - s[f]) * (k - f)


def summarize_ms(values_s: list[float]) -> dict[str, Any]:
    ms = [v * 1000.0 for v in values_s]
    if not ms:
        return {"n": 0}
    return {
        "n": len(ms),
        "mean_ms": round(statistics.fmean(ms), 2),
        "p50_ms": round(pct(ms, 50), 2),
        "p95_ms": round(pct(ms, 95), 2),
        "p99_ms": round(pct(ms, 99), 2),
        "max_ms": round(max(ms), 2),
    }


# --------------------------------------------------------------------------- processes


def proc_tree(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            ppid = int(stat[stat.rfind(")") + 2:].split()[1])
            children.setdefault(ppid, []).append(int(entry))
        except (OSError, ValueError, IndexError):
            continue
    out, stack = [], [pid]
    while stack:
        p = stack.pop()
        out.append(p)
        stack.extend(children.get(p, []))
    return out


def read_mem(pid: int) -> dict[str, Any]:
    """VmHWM (peak) and VmRSS in MiB, summed over pid and its descendants."""
    hwm = rss = 0.0
    for p in proc_tree(pid):
        try:
            st = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        for key in ("VmHWM", "VmRSS"):
            m = re.search(rf"^{key}:\s+(\d+) kB", st, re.M)
            v = int(m.group(1)) / 1024.0 if m else 0.0
            if key == "VmHWM":
                hwm += v
            else:
                rss += v
    return {"peak_rss_mib": round(hwm, 1), "rss_mib": round(rss, 1)}


def self_peak_rss_mib() -> float:
    """This process's peak RSS (VmHWM; ru_maxrss as fallback)."""
    try:
        m = re.search(r"^VmHWM:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.M)
        if m:
            return round(int(m.group(1)) / 1024.0, 1)
    except OSError:
        pass
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)


CLK_TCK = os.sysconf("SC_CLK_TCK")
NCPU = os.cpu_count() or 1


def cpu_snapshot(server_pid: int | None) -> dict[str, float]:
    """Machine busy/total jiffies, server-tree CPU seconds, this process's CPU seconds."""
    snap = {"wall": time.perf_counter(), "busy": 0.0, "total": 0.0, "server": 0.0}
    with open("/proc/stat") as f:
        vals = [float(x) for x in f.readline().split()[1:]]
    idle = vals[3] + (vals[4] if len(vals) > 4 else 0.0)
    snap["total"] = sum(vals[:8])
    snap["busy"] = snap["total"] - idle
    if server_pid:
        for p in proc_tree(server_pid):
            try:
                st = Path(f"/proc/{p}/stat").read_text()
                fields = st[st.rfind(")") + 2:].split()
                snap["server"] += (float(fields[11]) + float(fields[12])) / CLK_TCK
            except (OSError, ValueError, IndexError):
                continue
    t = os.times()
    snap["client"] = t.user + t.system
    snap["postgres"] = postgres_cpu_seconds()
    return snap


def postgres_cpu_seconds() -> float:
    """CPU seconds of every running PostgreSQL process (server, backends, writers)."""
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            st = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if st[st.find("(") + 1:st.rfind(")")] != "postgres":
            continue
        fields = st[st.rfind(")") + 2:].split()
        total += (float(fields[11]) + float(fields[12])) / CLK_TCK
    return total


def cpu_usage(a: dict[str, float], b: dict[str, float]) -> dict[str, Any]:
    """Average cores busy between two snapshots: machine, server, bench client, others."""
    wall = b["wall"] - a["wall"]
    if wall <= 0 or b["total"] <= a["total"]:
        return {}
    machine = (b["busy"] - a["busy"]) / (b["total"] - a["total"]) * NCPU
    server = (b["server"] - a["server"]) / wall
    client = (b["client"] - a["client"]) / wall
    pg = (b.get("postgres", 0.0) - a.get("postgres", 0.0)) / wall
    out = {
        "ncpu": NCPU,
        "machine_cores_busy": round(machine, 2),
        "server_cores": round(server, 2),
        "bench_client_cores": round(client, 2),
        "other_processes_cores": round(max(0.0, machine - server - client - pg), 2),
    }
    if pg > 0:
        out["postgres_cores"] = round(pg, 2)
    return out


def others_busy(seconds: float = 2.0) -> float:
    """Cores used by every process except this one and its children over ``seconds``."""
    a = cpu_snapshot(os.getpid())
    time.sleep(seconds)
    b = cpu_snapshot(os.getpid())
    u = cpu_usage(a, b)
    return max(0.0, u.get("machine_cores_busy", 0.0) - u.get("server_cores", 0.0))


def wait_quiet(max_wait: float, threshold: float = 0.25) -> dict[str, Any]:
    """Wait (at most ``max_wait`` s) until other processes use < ``threshold`` cores.

    The machine is shared (other sessions run test suites); figures taken while it is busy
    are not comparable. Returns what was seen, recorded in each result file.
    """
    t0 = time.monotonic()
    seen = others_busy(1.0)
    while seen >= threshold and time.monotonic() - t0 < max_wait:
        seen = others_busy(2.0)
    out = {"others_cores": round(seen, 2), "waited_s": round(time.monotonic() - t0, 1),
           "quiet": seen < threshold}
    if not out["quiet"]:
        print(f"WARNING: the machine is busy ({seen:.2f} cores used by other processes); "
              "figures may be low", file=sys.stderr, flush=True)
    return out


def machine_info() -> dict[str, Any]:
    import truelabel

    return {"python": platform.python_version(), "ncpu": NCPU, "platform": platform.platform(),
            "truelabel": truelabel.__version__,
            "loadavg_at_start": Path("/proc/loadavg").read_text().split()[:3]}


# --------------------------------------------------------------------------- workspace set-up


def fresh_pg_database(admin_url: str, name: str) -> str:
    """Create an empty PostgreSQL database ``name`` (dropped first if left over); its URL."""
    from sqlalchemy import create_engine, text

    eng = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with eng.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    eng.dispose()
    return admin_url.rsplit("/", 1)[0] + "/" + name


def pg_vacuum(url: str) -> float:
    """``VACUUM (ANALYZE)`` the whole database, then ``CHECKPOINT`` (as pgbench does before
    a run); its seconds. Bench set-up after a bulk load, as a DBA would run it: otherwise
    autovacuum's one-off pass over the freshly imported table (set off by the insert count)
    and the checkpoint writing the load out land inside the measured phase."""
    from sqlalchemy import create_engine

    eng = create_engine(url, isolation_level="AUTOCOMMIT")
    t0 = time.perf_counter()
    with eng.connect() as conn:
        conn.exec_driver_sql("VACUUM (ANALYZE)")
        conn.exec_driver_sql("CHECKPOINT")
    eng.dispose()
    return round(time.perf_counter() - t0, 2)


def drop_pg_database(admin_url: str, name: str) -> None:
    from sqlalchemy import create_engine, text

    eng = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with eng.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    eng.dispose()


def new_project(folder: Path, *, overlap: int = 1, db_url: str | None = None):
    """A fresh workspace in ``folder`` (or at ``db_url``, blobs in ``folder``) with project
    ``bench`` (the peer's 3-choice config)."""
    from truelabel import Workspace

    if db_url:
        folder.mkdir(parents=True, exist_ok=True)
        ws = Workspace.open(db_url, blob_url=str(folder / "blobs"))
    else:
        ws = Workspace.init(folder)
    p = ws.create_project(PROJECT, SCHEMA, overlap=overlap)
    return ws, p


def add_annotators(ws, p, names: list[str]) -> dict[str, str]:
    """Annotator users, members of ``p``, with one API token each: {username: token}."""
    out = {}
    for name in names:
        u = ws.add_user(name, PASSWORD, role="annotator")
        p.add_member(u, "annotator")
        out[name] = ws.create_token(u, name="bench")
    return out


def bulk_annotate(ws, p, *, seed: int, username: str = "bulk") -> dict[str, Any]:
    """BENCH SET-UP ONLY (not measured): give every item of ``p`` one submitted annotation.

    The library has no bulk-annotation API and ``p.annotate`` one by one would take hours for
    1M items, so: the first item goes through ``p.annotate`` (the real path), then the rest are
    written with the store's own SQL in one write transaction (``p.db.write()``), copying that
    row's shape (assignment 'submitted', annotation current, items.n_taken/n_done/open).
    """
    from sqlalchemy import text

    t0 = time.perf_counter()
    u = ws.add_user(username, PASSWORD, role="annotator")
    p.add_member(u, "annotator")
    first = p.items(limit=1)[0]["id"]
    rng = random.Random(seed)
    labels = [p.validate({"sentiment": lab}) for lab in LABELS]
    p.annotate(first, labels[0], u, key="bench-first")
    ref = p.annotations(first)[0]
    with p.db.read() as conn:
        row = conn.execute(text(
            "SELECT schema_version_id, guideline_version_id, created_at FROM annotations "
            "WHERE id = :id"), {"id": ref["id"]}).one()
    sid, gv, now = row.schema_version_id, row.guideline_version_id, row.created_at
    values = [json.dumps(v, separators=(",", ":")) for v in labels]
    with p.db.write(bulk=True) as conn:
        conn.execute(text(
            "INSERT INTO assignments (project_id, item_id, user_id, status, lease_expires_at, "
            "created_at) SELECT project_id, id, :u, 'submitted', NULL, :now FROM items "
            "WHERE project_id = :p AND id <> :first ORDER BY id"),
            {"u": u.id, "now": now, "p": p.id, "first": first})
        # deterministic labels: a seeded random label per item, via a small lookup table
        conn.exec_driver_sql("CREATE TEMP TABLE bench_labels (k INTEGER PRIMARY KEY, v TEXT)")
        k = 9973
        conn.exec_driver_sql("INSERT INTO bench_labels VALUES (?, ?)",
                             [(i, values[rng.randrange(3)]) for i in range(k)])
        conn.execute(text(
            "INSERT INTO annotations (project_id, item_id, user_id, assignment_id, "
            "schema_version_id, guideline_version_id, value, idempotency_key, is_current, "
            "origin, created_at) "
            "SELECT a.project_id, a.item_id, a.user_id, a.id, :sid, :gv, l.v, "
            "'bench-' || a.id, 1, 'human', :now FROM assignments a "
            "JOIN bench_labels l ON l.k = a.item_id % :k "
            "WHERE a.project_id = :p AND a.user_id = :u AND a.item_id <> :first ORDER BY a.id"),
            {"sid": sid, "gv": gv, "now": now, "p": p.id, "u": u.id, "first": first, "k": k})
        conn.exec_driver_sql("DROP TABLE bench_labels")
        conn.execute(text("UPDATE items SET n_taken = 1, n_done = 1, open = 0 "
                          "WHERE project_id = :p AND id <> :first"), {"p": p.id, "first": first})
    st = p.status()
    return {"annotated_items": st["labeled"], "submitted": st["submitted"],
            "setup_s": round(time.perf_counter() - t0, 2),
            "method": "1 p.annotate + SQL INSERT..SELECT in one p.db.write() (setup only)"}


# --------------------------------------------------------------------------- server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``uvicorn`` over ``create_app(Workspace.open(folder))`` in a subprocess on loopback.

    ``workers`` > 1 runs ``truelabel serve --workers N`` (PostgreSQL only): one process and
    listening socket (``SO_REUSEPORT``) per worker; the default, 1, is the plain
    ``uvicorn.run(create_app(ws))``.
    """

    def __init__(self, folder: Path, port: int | None = None, log: Path | None = None,
                 workers: int = 1) -> None:
        self.folder = folder
        self.port = port or free_port()
        self.log = log or folder.parent / "server.log"
        self.workers = workers
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> Server:
        self._logf = open(self.log, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "common.py"), "serve", str(self.folder), str(self.port),
             str(self.workers)],
            stdout=self._logf, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    if self.workers > 1:
                        time.sleep(2.0)  # let every worker finish starting
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"server did not start in {timeout} s")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "_logf", None):
            self._logf.close()

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(folder: str, port: int, workers: int = 1) -> None:
    """The server as ``truelabel serve LOCATION --port PORT --workers N`` runs it."""
    si = os.environ.get("TRUELABEL_BENCH_SWITCH_INTERVAL")
    if si:  # diagnostic only (see README): the GIL hand-off interval, default 0.005 s
        sys.setswitchinterval(float(si))
    from truelabel import Workspace
    from truelabel.server.run import serve as run

    run(Workspace.open(folder), host="127.0.0.1", port=port, workers=workers)


# --------------------------------------------------------------------------- output


def fmt(v: Any, unit: str = "") -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.2f}{unit}"
    if isinstance(v, int):
        return f"{v:,}{unit}"
    return f"{v}{unit}"


def print_table(title: str, rows: list[tuple[str, str, str]]) -> None:
    w1 = max(len(r[0]) for r in rows) + 2
    w2 = max(len(r[1]) for r in rows) + 2
    line = "=" * (w1 + w2 + 40)
    print("\n" + line)
    print(title)
    print(line)
    for a, b, c in rows:
        print(f"{a:<{w1}}{b:<{w2}}{c}")
    print(line, flush=True)


def write_json(path: str | Path, data: dict[str, Any]) -> None:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_suffix(p.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")
    os.replace(tmp, p)
    print(f"results written to {p}")


# --------------------------------------------------------------------------- comparison


def _get(d: dict[str, Any] | None, path: str) -> Any:
    for k in path.split("."):
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def compare(results: Path, peer_path: Path, peer_note: str = "live run",
            ref_path: Path | None = None) -> dict[str, Any]:
    """Ours vs the peer at the same sizes (+ ours at 1M): print a table, write JSON.

    ``ref_path``: the peer's reference run (a quiet machine), shown beside the live run.
    """

    def load(name: str) -> dict[str, Any] | None:
        f = results / name
        return json.loads(f.read_text()) if f.exists() else None

    peer = json.loads(peer_path.read_text())
    ref = json.loads(ref_path.read_text()) if ref_path and ref_path != peer_path else None
    ie10, ie100, ie1m = (load(f"import_export_n{n}.json") for n in (10_000, 100_000, 1_000_000))
    cy10, cy100, cy1m = (load(f"cycle_n{n}.json") for n in (10_000, 100_000, 1_000_000))
    hi, lo = "higher", "lower"
    peer_paths: list[str] = []

    def pg(path: str) -> Any:
        peer_paths.append(path)
        return _get(peer, path)

    # (metric, better, ours, peer, ours at 1M, note)
    spec = [
        ("import 10k: items/s", hi, _get(ie10, "import.items_per_s"),
         pg("import_10k.tasks_per_s"), None, "ours: library; peer: HTTP POST"),
        ("import 100k: items/s", hi, _get(ie100, "import.items_per_s"),
         pg("import_100k.tasks_per_s"), _get(ie1m, "import.items_per_s"), ""),
        ("import 100k: peak RSS MiB", lo, _get(ie100, "import.peak_rss_mib"),
         pg("memory.after_import_large.peak_rss_mib_sum"),
         _get(ie1m, "import.peak_rss_mib"), "ours: import process; peer: server tree"),
        ("1 client (10k): cycles/s", hi, _get(cy10, "phases.seq.cycles_per_s"),
         pg("annotation.seq.cycles_per_s"), _get(cy1m, "phases.seq.cycles_per_s"), ""),
        ("1 client (10k): next p99 ms", lo, _get(cy10, "phases.seq.next.p99_ms"),
         pg("annotation.seq.next.p99_ms"), _get(cy1m, "phases.seq.next.p99_ms"), ""),
        ("1 client (10k): submit p99 ms", lo, _get(cy10, "phases.seq.submit.p99_ms"),
         pg("annotation.seq.submit.p99_ms"), _get(cy1m, "phases.seq.submit.p99_ms"),
         ""),
        ("1 client (10k): cycle p50 ms", lo, _get(cy10, "phases.seq.cycle.p50_ms"),
         pg("annotation.seq.cycle.p50_ms"), _get(cy1m, "phases.seq.cycle.p50_ms"), ""),
        ("1 client (10k): cycle p99 ms", lo, _get(cy10, "phases.seq.cycle.p99_ms"),
         pg("annotation.seq.cycle.p99_ms"), _get(cy1m, "phases.seq.cycle.p99_ms"),
         "target at 1M: <= 15 ms"),
        ("1 client (100k): cycles/s", hi, _get(cy100, "phases.seq.cycles_per_s"),
         pg("annotation.large_next.cycles_per_s"), None, "peer: large_next"),
        ("1 client (100k): cycle p99 ms", lo, _get(cy100, "phases.seq.cycle.p99_ms"),
         pg("annotation.large_next.cycle.p99_ms"), None, ""),
        ("8 clients (10k): cycles/s", hi, _get(cy10, "phases.conc.cycles_per_s"),
         pg("annotation.conc_users.cycles_per_s"),
         _get(cy1m, "phases.conc.cycles_per_s"), "target at 1M: >= 400"),
        ("8 clients (10k): next p99 ms", lo, _get(cy10, "phases.conc.next.p99_ms"),
         pg("annotation.conc_users.next.p99_ms"), _get(cy1m, "phases.conc.next.p99_ms"),
         ""),
        ("8 clients (10k): cycle p99 ms", lo, _get(cy10, "phases.conc.cycle.p99_ms"),
         pg("annotation.conc_users.cycle.p99_ms"),
         _get(cy1m, "phases.conc.cycle.p99_ms"), ""),
        ("8 clients: items to >1 client", lo,
         _get(cy10, "phases.conc.items_served_to_more_than_one_client"),
         pg("annotation.conc_users.tasks_served_to_more_than_one_client"),
         _get(cy1m, "phases.conc.items_served_to_more_than_one_client"), "overlap 1"),
        ("items with >1 annotation", lo, _get(cy10, "integrity.items_with_2plus_annotations"),
         pg("integrity.tasks_with_more_than_one_annotation"),
         _get(cy1m, "integrity.items_with_2plus_annotations"), ""),
        ("lost annotations", lo, _get(cy10, "integrity.lost_annotations"),
         pg("integrity.lost_annotations"), _get(cy1m, "integrity.lost_annotations"), ""),
        ("8 clients: server CPU cores", lo, _get(cy10, "phases.conc.cpu.server_cores"),
         pg("cpu.conc_users.server_cores"), _get(cy1m, "phases.conc.cpu.server_cores"),
         ""),
        ("8 clients: other processes' cores", lo,
         _get(cy10, "phases.conc.cpu.other_processes_cores"),
         pg("cpu.conc_users.other_processes_cores"),
         _get(cy1m, "phases.conc.cpu.other_processes_cores"), "noise on this shared machine"),
        ("export 10k JSON(L): items/s", hi, _get(ie10, "export.jsonl.items_per_s"),
         pg("export_10k.tasks_per_s"), _get(ie1m, "export.jsonl.items_per_s"),
         "ours: all items annotated"),
        ("export 10k Parquet: items/s", hi, _get(ie10, "export.parquet.items_per_s"),
         pg("export_10k.tasks_per_s"), _get(ie1m, "export.parquet.items_per_s"),
         "peer has no Parquet: vs its JSON"),
        ("server RSS idle MiB", lo, _get(cy10, "memory.server_start.peak_rss_mib"),
         pg("memory.start.peak_rss_mib_sum"),
         _get(cy1m, "memory.server_start.peak_rss_mib"), ""),
        ("server peak RSS after 8 clients", lo, _get(cy10, "memory.after_conc.peak_rss_mib"),
         pg("memory.after_conc_users.peak_rss_mib_sum"),
         _get(cy1m, "memory.after_conc.peak_rss_mib"), "MiB"),
    ]
    def ratio(a: Any, b: Any) -> float | None:
        if isinstance(a, int | float) and isinstance(b, int | float) and b:
            return round(a / b, 3)
        return None

    def rfmt(r: float | None) -> str:
        return "-" if r is None else f"{r:,.3g}x"

    rows_out = []
    for (metric, better, ours, theirs, big, note), ppath in zip(spec, peer_paths, strict=True):
        row = {"metric": metric, "better": better, "ours": ours, "peer": theirs,
               "ratio_ours_over_peer": ratio(ours, theirs), "ours_1m": big, "note": note}
        if ref is not None:
            row["peer_reference"] = _get(ref, ppath)
            row["ratio_ours_over_peer_reference"] = ratio(ours, row["peer_reference"])
        rows_out.append(row)
    if ref is not None:
        heads = ("metric", "ours", "peer", "ours/peer", "peer ref", "ours/ref", "better",
                 "ours @1M", "note")
        table = [heads] + [(r["metric"], fmt(r["ours"]), fmt(r["peer"]),
                            rfmt(r["ratio_ours_over_peer"]), fmt(r["peer_reference"]),
                            rfmt(r["ratio_ours_over_peer_reference"]), r["better"],
                            fmt(r["ours_1m"]), r["note"]) for r in rows_out]
    else:
        heads = ("metric", "ours", "peer", "ours/peer", "better", "ours @1M", "note")
        table = [heads] + [(r["metric"], fmt(r["ours"]), fmt(r["peer"]),
                            rfmt(r["ratio_ours_over_peer"]), r["better"], fmt(r["ours_1m"]),
                            r["note"]) for r in rows_out]
    widths = [max(len(str(row[i])) for row in table) + 2 for i in range(len(heads))]
    line = "=" * sum(widths)
    print("\n" + line)
    print(f"truelabel vs Label Studio {peer.get('server_version', '?')} ({peer_note}: "
          f"{peer_path}), same N / seeds / client counts")
    if ref is not None:
        print(f"peer ref = the peer's reference run on a quiet machine ({ref_path})")
    print(line)
    for i, row in enumerate(table):
        print("".join(f"{str(c):<{w}}" for c, w in zip(row, widths, strict=True)))
        if i == 0:
            print("-" * sum(widths))
    print(line, flush=True)
    out = {"peer_file": str(peer_path), "peer_note": peer_note,
           "peer_reference_file": str(ref_path) if ref is not None else None,
           "peer_version": peer.get("server_version"),
           "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "rows": rows_out}
    write_json(results / "comparison.json", out)
    return out


if __name__ == "__main__":
    if len(sys.argv) in (4, 5) and sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) == 5 else 1)
    elif len(sys.argv) in (4, 5, 6) and sys.argv[1] == "compare":
        compare(Path(sys.argv[2]), Path(sys.argv[3]), *sys.argv[4:5],
                *[Path(a) for a in sys.argv[5:6]])
    else:
        print("usage: python bench/common.py serve FOLDER PORT [WORKERS]\n"
              "       python bench/common.py compare RESULTS_DIR PEER_JSON [NOTE [REF_JSON]]",
              file=sys.stderr)
        sys.exit(2)
