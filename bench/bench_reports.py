"""`make bench` runs bench/bench_*.py: this runs bench/reports.py, the citizen-reports benchmark the
issue names (1,000,000 reports in PostgreSQL; see that file)."""

from __future__ import annotations

import runpy
from pathlib import Path

if __name__ == "__main__":
    runpy.run_path(str(Path(__file__).with_name("reports.py")), run_name="__main__")
