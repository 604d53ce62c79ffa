"""Running the web server with its background processes (the task worker and the scheduler) as
children that live and die with it. Shared by `dothi demo` and `dothi serve`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

from django.core.management import get_commands
from django.db import connections

APP = "dothi.asgi:application"
MAX_RESTARTS = 5


def background_commands() -> list[list[str]]:
    """The task worker always; the scheduler when a module provides the `scheduler` command; the MQTT
    ingester when a module provides `ingest_mqtt` and DOTHI_MQTT_URL is set (explicitly: a deployment
    without a broker must not keep restarting an ingester that cannot connect)."""
    commands = [["db_worker", "--no-reload", "--queue-name", "*"]]
    available = get_commands()
    if "scheduler" in available:
        commands.append(["scheduler"])
    if "ingest_mqtt" in available and os.environ.get("DOTHI_MQTT_URL"):
        commands.append(["ingest_mqtt"])
    return commands


class Children:
    """Child processes running `dothi <command>`, restarted if they crash, stopped on exit."""

    def __init__(self, commands: list[list[str]], write=print) -> None:
        self.commands = commands
        self.write = write
        self.procs: dict[str, subprocess.Popen] = {}
        self.restarts: dict[str, int] = {}
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None

    def _spawn(self, command: list[str]) -> subprocess.Popen:
        env = dict(os.environ)
        env.setdefault("DJANGO_SETTINGS_MODULE", "dothi.settings")
        # `python -m django` needs no console script on PATH and runs in this very interpreter (venv).
        return subprocess.Popen([sys.executable, "-m", "django", *command], env=env)  # noqa: S603

    def start(self) -> None:
        for command in self.commands:
            self.procs[command[0]] = self._spawn(command)
            self.write(f"Started {command[0]} (pid {self.procs[command[0]].pid})")
        self._watcher = threading.Thread(target=self._watch, name="dothi-children", daemon=True)
        self._watcher.start()

    def _watch(self) -> None:
        while not self._stopping.wait(2.0):
            for command in self.commands:
                name = command[0]
                proc = self.procs.get(name)
                if proc is None or proc.poll() is None or self._stopping.is_set():
                    continue
                count = self.restarts.get(name, 0)
                if count >= MAX_RESTARTS:
                    continue
                self.restarts[name] = count + 1
                self.write(f"{name} exited ({proc.returncode}); restarting ({count + 1}/{MAX_RESTARTS})")
                self.procs[name] = self._spawn(command)

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + timeout
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def gunicorn_command(
    *, host: str, port: int, workers: int, server: str, access_log: bool = True
) -> list[str]:
    """gunicorn serving the ASGI app with uvicorn workers ("gunicorn"), or the WSGI app with threaded
    workers ("wsgi": two threads each, so a slow client does not hold a whole worker)."""
    if server == "wsgi":
        command = [sys.executable, "-m", "gunicorn", "dothi.wsgi:application", "-k", "gthread",
                   "--threads", "2"]
    else:
        command = [sys.executable, "-m", "gunicorn", APP, "-k", "uvicorn.workers.UvicornWorker"]
    command += ["-w", str(workers), "-b", f"{host}:{port}"]
    return command + (["--access-logfile", "-"] if access_log else [])


def serve(*, host: str, port: int, workers: int = 1, background: bool = True, server: str = "uvicorn",
          extra: list[list[str]] | None = None, write=print) -> None:
    """Serve the ASGI application until SIGINT/SIGTERM, with the background processes (and the `extra`
    commands, e.g. the demo's sensor simulator) as children."""
    # Connections opened while migrating or seeding must not leak into forked server workers.
    connections.close_all()
    children = Children((background_commands() + (extra or [])) if background else [], write=write)
    # uvicorn restores this handler after its graceful shutdown and re-raises the signal it caught;
    # turning SIGTERM into KeyboardInterrupt lets the `finally` below stop the children.
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        children.start()
        if server in ("gunicorn", "wsgi"):
            # gunicorn supervises its own workers (uvicorn's for ASGI, or its threaded WSGI workers);
            # we supervise gunicorn like any child.
            command = gunicorn_command(host=host, port=port, workers=workers, server=server)
            web = subprocess.Popen(command)  # noqa: S603
            try:
                web.wait()
            finally:
                if web.poll() is None:
                    web.terminate()
                    web.wait(10)
        else:
            import uvicorn

            uvicorn.run(APP, host=host, port=port, workers=workers if workers > 1 else None,
                        proxy_headers=True, log_level="info", lifespan="off")
    except KeyboardInterrupt:
        pass
    finally:
        children.stop()
        signal.signal(signal.SIGTERM, previous)
        write("Stopped.")
