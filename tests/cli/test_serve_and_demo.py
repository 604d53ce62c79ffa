"""`dothi serve` and `dothi demo` as real processes."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from dothi import cli
from dothi.core.management.commands.serve import unapplied_migrations

ON_POSTGRES = os.environ.get("DOTHI_DATABASE_URL", "").startswith("postgres")


def _env(data_dir):
    # A clean SQLite demo: the test run's database settings must not leak into the child.
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOTHI_")}
    env["DOTHI_DATA_DIR"] = str(data_dir)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_data_dir_option_is_moved_to_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("DOTHI_DATA_DIR", raising=False)
    cli._data_dir_to_env(["dothi", "demo", "--port", "9000", "--data-dir", str(tmp_path / "a")])
    assert os.environ["DOTHI_DATA_DIR"] == str(tmp_path / "a")
    cli._data_dir_to_env(["dothi", "demo", f"--data-dir={tmp_path / 'b'}"])
    assert os.environ["DOTHI_DATA_DIR"] == str(tmp_path / "b")
    monkeypatch.delenv("DOTHI_DATA_DIR")
    cli._data_dir_to_env(["dothi", "migrate", "--data-dir", "x"])  # only `demo` has the option
    assert "DOTHI_DATA_DIR" not in os.environ


@pytest.mark.django_db
def test_the_test_database_is_fully_migrated():
    assert unapplied_migrations() == []


def test_serve_refuses_unapplied_migrations(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "dothi.cli", "serve", "--port", str(_free_port())],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "not applied" in result.stderr and "dothi migrate" in result.stderr


@pytest.mark.skipif(ON_POSTGRES, reason="slow end-to-end test: runs once, in the SQLite run")
def test_demo_seeds_and_serves_within_60_seconds_and_stops_its_children(tmp_path):
    port = _free_port()
    log = (tmp_path / "demo.log").open("w+")
    started = time.monotonic()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dothi.cli",
            "demo",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path / "data"),
        ],
        env=_env(tmp_path / "ignored"),
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        body = None
        while time.monotonic() - started < 60 and proc.poll() is None:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/api/v1/communes?page_size=1", timeout=2
                ) as r:
                    body = json.loads(r.read())
                break
            except OSError:
                time.sleep(0.25)
        elapsed = time.monotonic() - started
        log.seek(0)
        output = log.read()
        assert body is not None, f"not serving after {elapsed:.1f} s:\n{output}"
        assert body["count"] == 94
        assert elapsed < 60
        assert "quantri" in output and "048085012345" in output  # the accounts table
        assert (tmp_path / "data" / "dothi.sqlite3").exists()  # --data-dir was honoured
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
            assert r.status == 200
        # the worker (and the scheduler, when present) run as children
        time.sleep(1)
        log.seek(0)
        children = [
            int(line.rsplit("pid ", 1)[1].rstrip(")"))
            for line in log.read().splitlines()
            if line.startswith("Started ") and "(pid " in line
        ]
        assert children, output
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    for pid in children:
        for _ in range(50):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            # a zombie of an exited child still answers kill(0) until reaped; check its state
            try:
                with open(f"/proc/{pid}/stat") as fh:
                    if fh.read().split()[2] == "Z":
                        break
            except FileNotFoundError:
                break
            time.sleep(0.1)
        else:
            pytest.fail(f"child process {pid} still running after the demo stopped")
