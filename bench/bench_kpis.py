"""`make bench` runs bench/bench_*.py: this runs bench/kpis.py, the KPI computation benchmark the issue
names (every automatic indicator for a year and a quarter over 50,000,000 observations, 1,000,000 reports
and 500,000 visits in PostgreSQL; see that file)."""

from __future__ import annotations

import runpy
from pathlib import Path

if __name__ == "__main__":
    runpy.run_path(str(Path(__file__).with_name("kpis.py")), run_name="__main__")
