"""How long a fresh `dothi demo` takes to be seeded and answering HTTP (target: under 60 s).

Runs `dothi demo` on an empty data directory and a free port, polls the home page, stops it, and
repeats; reports the minimum, median and maximum. `python bench/bench_demo_start.py [runs]`.
"""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import _report

DOTHI = Path(sys.executable).with_name("dothi")
TARGET_S = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one_run() -> float:
    data_dir = tempfile.mkdtemp(prefix="dothi-demo-bench-")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "DOTHI_DATABASE_URL"}
    started = time.perf_counter()
    proc = subprocess.Popen(
        [str(DOTHI), "demo", "--data-dir", data_dir, "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True,
    )
    try:
        while time.perf_counter() - started < 120:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        return time.perf_counter() - started
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the demo did not answer within 120 s")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    times = [one_run() for _ in range(runs)]
    median = statistics.median(times)
    _report.write("demo_start", "Fresh `dothi demo`: seeded and serving", [
        "Scale: the full demo city (Đà Nẵng, 94 communes with cells, 19 organisations, staff for every "
        "role, 300 citizens with encrypted IDs and phones, every module's seeder), SQLite, "
        f"{runs} runs, each on an empty data directory, from process start to the first HTTP 200.",
        "",
        "| figure | seconds |",
        "|---|---|",
        f"| minimum | {min(times):.1f} |",
        f"| median | {median:.1f} |",
        f"| maximum | {max(times):.1f} |",
        f"| target (issue 2) | {TARGET_S:.0f} |",
        f"| median / target | {median / TARGET_S:.2f} |",
        "",
    ])


if __name__ == "__main__":
    main()
