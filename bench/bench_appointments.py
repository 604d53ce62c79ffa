"""`make bench` runs bench/bench_*.py: this runs bench/appointments.py, the opening-hour booking burst the
issue names (10,000 attempts for 1,000 places in PostgreSQL; see that file)."""

from __future__ import annotations

import runpy
from pathlib import Path

if __name__ == "__main__":
    runpy.run_path(str(Path(__file__).with_name("appointments.py")), run_name="__main__")
