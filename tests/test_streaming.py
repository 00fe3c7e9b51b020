"""Import streams: peak memory does not grow with the file, and stays below the file's size."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

CHILD = r"""
import re, sys
from truelabel import Workspace
ws = Workspace.init(sys.argv[1])
p = ws.create_project("m", {"fields": [{"name": "x", "type": "text"}]})
r = p.import_file(sys.argv[2])
# VmHWM is this program's own peak (ru_maxrss would include the forking parent's)
hwm = int(re.search(r"VmHWM:\s+(\d+)", open("/proc/self/status").read()).group(1))
print(r.added, hwm // 1024)
"""


def _make(path: Path, mib: int) -> int:
    line_text = "lorem ipsum dolor sit amet " * 75  # ~2 KB per record
    n = 0
    with path.open("w") as fh:
        while fh.tell() < mib << 20:
            fh.write(json.dumps({"id": n, "text": f"{n} {line_text}"}) + "\n")
            n += 1
    return n


def _peak(tmp: Path, name: str, mib: int) -> tuple[int, int, int]:
    data = tmp / f"{name}.jsonl"
    n = _make(data, mib)
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp / f"ws-{name}"), str(data)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    added, peak = map(int, out.stdout.split())
    data.unlink()
    return n, added, peak


def test_import_memory_is_constant_in_file_size(tmp_path: Path) -> None:
    n_small, added_small, peak_small = _peak(tmp_path, "small", 40)
    n_big, added_big, peak_big = _peak(tmp_path, "big", 240)
    assert (added_small, added_big) == (n_small, n_big)
    # six times the data, (almost) the same memory; and far less than the file itself
    assert peak_big - peak_small < 40, (peak_small, peak_big)
    assert peak_big < 240 * 0.8, peak_big
