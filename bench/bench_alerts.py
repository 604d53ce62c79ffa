"""`make bench` runs bench/bench_*.py: this runs bench/alerts.py, the warnings benchmark the issue names
(200,000 subscribers: breach → published CAP message, and the fan-out to every inbox; see that file)."""

from __future__ import annotations

import runpy
from pathlib import Path

if __name__ == "__main__":
    runpy.run_path(str(Path(__file__).with_name("alerts.py")), run_name="__main__")
