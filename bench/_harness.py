"""What the HTTP benchmarks share: the served platform (gunicorn as `dothi serve --server wsgi` runs it,
with a benchmark module's URLconf), a dedicated PostgreSQL database, percentiles and the machine's load."""

from __future__ import annotations

import http.client
import math
import os
import signal
import socket
import subprocess
import time
import urllib.parse
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], fraction: float) -> float:
    """Linear interpolation between the closest ranks (as numpy's default)."""
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def load_average() -> str:
    one, five, _fifteen = os.getloadavg()
    return f"{one:.1f} (1 min), {five:.1f} (5 min)"


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown CPU")
    return f"{os.cpu_count()} cores ({cpu})"


def ensure_database(url: str) -> None:
    """Create the benchmark's own database when it does not exist."""
    import psycopg

    parts = urllib.parse.urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


class Server:
    """The platform as `dothi serve --server wsgi` runs it (gunicorn, threaded WSGI workers), with the
    shared cache (sessions, rate-limit counters) in Redis, as deployed for load. `app` is the benchmark
    module's WSGI factory ("reports:wsgi_app()": the project's URLs plus its baseline views); the server
    is ready when `ready_path` answers 200."""

    def __init__(self, workers: int, data_dir: str, *, database_url: str, redis_url: str, app: str,
                 ready_path: str) -> None:
        from dothi.core.management.commands._processes import gunicorn_command

        self.port = free_port()
        env = dict(os.environ, DOTHI_DATABASE_URL=database_url, DOTHI_DATA_DIR=data_dir,
                   DJANGO_SETTINGS_MODULE="dothi.settings", DOTHI_DEBUG="0", DOTHI_REDIS_URL=redis_url)
        command = gunicorn_command(host="127.0.0.1", port=self.port, workers=workers, server="wsgi",
                                   access_log=False)
        command[command.index("dothi.wsgi:application")] = app
        self.proc = subprocess.Popen(  # noqa: S603
            [*command, "--pythonpath", str(BENCH_DIR), "--log-level", "warning"],
            env=env, start_new_session=True,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                status, _ = self.get(ready_path)
                if status == 200:
                    return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError("the server did not start")

    def get(self, path: str, conn: http.client.HTTPConnection | None = None) -> tuple[int, bytes]:
        own = conn is None
        conn = conn or http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            if own:
                conn.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
