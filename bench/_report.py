"""Writes a benchmark's figures into docs/performance.md, replacing that benchmark's previous section,
with the machine and date they were measured on."""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "performance.md"
HEADER = """# Performance

Figures written by the benchmarks in `bench/` (`make bench` runs them all; each runs alone with
`.venv/bin/python bench/<name>.py`). Each section names the machine, the date, the scale and the
baseline it is compared with in the same run. A figure taken below the stated scale says so.
"""


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        mem = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, AttributeError):
        pass
    system = f"{platform.system()} {platform.release()}"
    return f"{os.cpu_count()} cores ({cpu}){mem}, {system}, Python {platform.python_version()}"


def write(name: str, title: str, lines: list[str]) -> None:
    body = DOC.read_text(encoding="utf-8") if DOC.exists() else HEADER
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    section = "\n".join(
        [f"<!-- bench:{name} -->", f"## {title}", "", f"Measured {stamp} on {machine()}.", "", *lines,
         f"<!-- /bench:{name} -->"]
    )
    pattern = re.compile(rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->", re.S)
    if pattern.search(body):
        body = pattern.sub(lambda _m: section, body)
    else:
        body = body.rstrip() + "\n\n" + section + "\n"
    DOC.write_text(body, encoding="utf-8")
    print(section)
