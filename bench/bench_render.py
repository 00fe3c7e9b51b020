"""Text items of 1 KB to 5 MB in the labeling page: time from "next" to an interactive page.

A real server (``truelabel.server.run.serve`` in a subprocess, its workspace made by the same
source tree) and headless Chromium (/usr/bin/chromium, the browser tests' arguments). One
project per size holds a 1 KB warm-up item and ``--repeat`` items of that size, in a spans
schema (label ORG on ``o``). For each item:

* **next → interactive**: from the Enter that submits the item before (``keydown``,
  ``performance.now()`` in the page) to the first moment after the next item is on the page
  (the task form names the new task) when a frame has been drawn and the main thread is free
  again (``requestAnimationFrame`` then a ``setTimeout(0)``): the text is visible and keys
  work. Submit and next (two HTTP requests) are included.
* **tagging**: from the keydown of ``o`` on that item (a span on the token at the cursor) to
  the next free main thread after the span list shows it (``MutationObserver``, then the same
  frame + task wait): the span is drawn. Pressing it also checks the page really took keys.
* **DOM nodes** of the page once interactive (every node, text nodes included).

``--base REF`` runs the same against REF's ``src`` (``git archive``, as side_by_side.py does)
and prints both columns. The old page takes about a minute at 5 MB: ``--timeout`` (seconds, per
item) stops waiting, records the size as timed out and goes on.

    .venv/bin/python bench/bench_render.py                       # this checkout
    .venv/bin/python bench/bench_render.py --base main --repeat 2 --timeout 120

JSON goes to ``--out`` (default ``bench/results/render.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import free_port
from side_by_side import extract  # git archive REF src → a folder to put on PYTHONPATH

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PASSWORD = "bench-pass-123"
SIZES = {"1 KB": 1024, "100 KB": 100 * 1024, "1 MB": 2**20, "5 MB": 5 * 2**20}
SCHEMA = {"title": "Render bench", "fields": [
    {"name": "entities", "type": "spans", "title": "Entities", "source": "text", "required": False,
     "labels": [{"value": "ORG", "hotkey": "o"}, {"value": "PRODUCT", "hotkey": "p"}]}]}
WORDS = ("data label model train test annotate quality review export import version dataset "
         "sample text queue worker server client request response token user project").split()

# the page's clock: Enter → next item interactive; o → span drawn
HOOKS = """() => {
  const form = document.getElementById("task-form");
  window.__bench = { before: form.dataset.taskId };
  if (window.__benchHooks) return;
  window.__benchHooks = true;
  const idle = (key) => requestAnimationFrame(() => setTimeout(() => {
    window.__bench[key] = performance.now();
  }, 0));
  document.addEventListener("keydown", (e) => {
    const b = window.__bench;
    if (e.key === "Enter" && b.enter === undefined) b.enter = performance.now();
    if (e.key === "o" && b.tag === undefined && b.ready !== undefined) {
      b.tag = performance.now();
    }
  }, { capture: true });
  new MutationObserver(() => {
    const b = window.__bench;
    if (b.ready === undefined && form.dataset.taskId && form.dataset.taskId !== b.before) {
      b.ready = -1;
      idle("ready");
    }
  }).observe(form, { attributes: true, attributeFilter: ["data-task-id"] });
  new MutationObserver(() => {
    const b = window.__bench;
    const drawn = document.querySelector("tl-spans .span-list li");
    if (b.tag !== undefined && b.drawn === undefined && drawn) {
      b.drawn = -1; idle("drawn");
    }
  }).observe(document.getElementById("fields"), { childList: true, subtree: true });
}"""
COUNT_NODES = """() => { const w = document.createTreeWalker(document, NodeFilter.SHOW_ALL);
  let n = 0; while (w.nextNode()) n++; return n; }"""


def make_text(size: int, seed: int) -> str:
    """About ``size`` characters of lines of words (ASCII, so characters = bytes)."""
    parts: list[str] = []
    n = 0
    i = seed
    while n < size:
        line = " ".join(WORDS[(i * 7 + j * 3) % len(WORDS)] for j in range(12)) + f" Acme{i}."
        parts.append(line)
        n += len(line) + 1
        i += 1
    return "\n".join(parts)[:size]


# --------------------------------------------------------------------------- the server side
def serve(folder: str, port: int, sizes: list[str], repeat: int) -> None:
    """(Run with the tree under test on PYTHONPATH.) Make the workspace, then serve it."""
    from truelabel import Workspace
    from truelabel.server.run import serve as run

    ws = Workspace.init(Path(folder))
    user = ws.add_user("ann", PASSWORD, role="annotator")
    for k, name in enumerate(sizes):
        p = ws.create_project(f"r{k}", SCHEMA, title=f"Render {name}")
        p.add_member(user, "annotator")
        records = [{"id": "warm-up", "text": make_text(1024, 0)}]
        records += [{"id": f"big{r}", "text": make_text(SIZES[name], r + 1)} for r in range(repeat)]
        p.import_records(records, max_item_bytes=8 * 2**20)
    print("workspace ready", flush=True)
    run(ws, host="127.0.0.1", port=port, workers=1)


def start_server(src: Path, folder: Path, sizes: list[str], repeat: int
                 ) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    log = open(folder.parent / f"{folder.name}.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, __file__, "serve", str(folder), str(port), ",".join(sizes), str(repeat)],
        env=dict(os.environ, PYTHONPATH=str(src)), stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited; see {log.name}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


# --------------------------------------------------------------------------- the browser side
def measure_tree(src: Path, sizes: list[str], repeat: int, timeout_s: float, work: Path
                 ) -> dict[str, Any]:
    from playwright.sync_api import TimeoutError as PwTimeout
    from playwright.sync_api import sync_playwright

    folder = work / f"ws-{abs(hash(str(src))) % 10**6}"
    proc, port = start_server(src, folder, sizes, repeat)
    out: dict[str, Any] = {}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for k, name in enumerate(sizes):
                ctx = browser.new_context(base_url=f"http://127.0.0.1:{port}",
                                          viewport={"width": 1440, "height": 900},
                                          bypass_csp=True)  # wait_for_function evaluates strings
                ctx.set_default_timeout(timeout_s * 1000)
                page = ctx.new_page()
                page.goto(f"/p/r{k}/label")
                page.fill("#username", "ann")
                page.fill("#password", PASSWORD)
                page.click("#login-submit")
                page.wait_for_selector("tl-spans .span-text:focus")
                runs: list[dict[str, Any]] = []
                try:
                    for _ in range(repeat):
                        page.keyboard.press("o")  # a span, so the submission is not empty
                        page.evaluate(HOOKS)
                        page.keyboard.press("Enter")
                        page.wait_for_function("window.__bench.ready > 0")
                        page.keyboard.press("o")
                        page.wait_for_function("window.__bench.drawn > 0")
                        b = page.evaluate("window.__bench")
                        runs.append({"next_to_interactive_ms": round(b["ready"] - b["enter"], 1),
                                     "tagging_ms": round(b["drawn"] - b["tag"], 1),
                                     "dom_nodes": page.evaluate(COUNT_NODES)})
                        print(f"    {name}: {runs[-1]}", flush=True)
                except PwTimeout:
                    runs.append({"timed_out_s": timeout_s})
                    print(f"    {name}: timed out after {timeout_s} s", flush=True)
                out[name] = runs
                ctx.close()
            browser.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    return out


def median(runs: list[dict[str, Any]], key: str) -> float | None:
    vals = [r[key] for r in runs if key in r]
    return round(statistics.median(vals), 1) if vals else None


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {"next_to_interactive_ms": median(runs, "next_to_interactive_ms"),
            "tagging_ms": median(runs, "tagging_ms"), "dom_nodes": median(runs, "dom_nodes"),
            "timed_out": any("timed_out_s" in r for r in runs), "runs": runs}


def cell(s: dict[str, Any] | None, key: str, timeout_s: float) -> str:
    if s is None:
        return "-"
    v = s[key]
    if v is None:
        return f"> {timeout_s:.0f} s" if s["timed_out"] else "-"
    return f"{v:,.0f}*" if s["timed_out"] else f"{v:,.0f}"  # *: some items timed out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default=",".join(SIZES), help=f"comma-separated, of {list(SIZES)}")
    ap.add_argument("--repeat", type=int, default=3, help="items measured per size")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds to wait per item")
    ap.add_argument("--base", help="git ref of the 'before' code, measured the same way")
    ap.add_argument("--out", default=str(HERE / "results" / "render.json"))
    args = ap.parse_args()
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    unknown = [s for s in sizes if s not in SIZES]
    if unknown:
        ap.error(f"unknown size(s) {unknown}; choose from {list(SIZES)}")

    work = Path(tempfile.mkdtemp(prefix="truelabel-render-"))
    trees: dict[str, Path] = {"after": ROOT / "src"}
    if args.base:
        trees["before"] = extract(args.base, work / "base")
    results: dict[str, dict[str, Any]] = {}
    try:
        for which, src in trees.items():
            print(f"{which}: {src}", flush=True)
            runs = measure_tree(src, sizes, args.repeat, args.timeout, work)
            results[which] = {name: summary(r) for name, r in runs.items()}
    finally:
        shutil.rmtree(work, ignore_errors=True)

    head = ["size", "next→interactive ms", "tagging ms", "DOM nodes"]
    if args.base:
        head = ["size", "before: next→interactive ms", "after: next→interactive ms",
                "before: tagging ms", "after: tagging ms", "before: DOM nodes", "after: DOM nodes"]
    rows = [head]
    for name in sizes:
        a = results["after"].get(name)
        b = results.get("before", {}).get(name)
        keys = ["next_to_interactive_ms", "tagging_ms", "dom_nodes"]
        if args.base:
            rows.append([name, *[c for k in keys
                                 for c in (cell(b, k, args.timeout), cell(a, k, args.timeout))]])
        else:
            rows.append([name, *[cell(a, k, args.timeout) for k in keys]])
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    print()
    for r in rows:
        cols = enumerate(zip(r, widths, strict=True))
        print("  ".join(v.rjust(w) if i else v.ljust(w) for i, (v, w) in cols))
    rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True).stdout.strip()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"head": rev, "base": args.base, "repeat": args.repeat,
                               "timeout_s": args.timeout, "loadavg": os.getloadavg(),
                               "results": results}, indent=2) + "\n")
    if any(v["timed_out"] for r in results.values() for v in r.values()):
        print(f"* of the items that did not time out ({args.timeout:.0f} s); see the JSON")
    print(f"\nresults written to {out}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]), sys.argv[4].split(","), int(sys.argv[5]))
    else:
        main()
