"""`make bench` runs bench/bench_*.py: this runs bench/layers.py, the spatial-layers benchmark the issue
names (500,000 features in PostgreSQL, bounding-box reads, re-assigning 1,000,000 points; see that file)."""

from __future__ import annotations

import runpy
from pathlib import Path

if __name__ == "__main__":
    runpy.run_path(str(Path(__file__).with_name("layers.py")), run_name="__main__")
