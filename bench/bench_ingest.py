"""`make bench` runs bench/bench_*.py: this runs bench/ingest.py, the sensor-ingestion benchmark the
issue names (1,000,000 observations through the bulk API, MQTT and raw COPY; see that file)."""

from __future__ import annotations

import runpy
from pathlib import Path

if __name__ == "__main__":
    runpy.run_path(str(Path(__file__).with_name("ingest.py")), run_name="__main__")
