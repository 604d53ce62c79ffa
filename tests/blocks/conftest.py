"""Fixtures for the shared building blocks: a worker run, a real SMS gateway, the sample module."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.apps import AppConfig


@pytest.fixture
def run_worker(monkeypatch):
    """Run the real django-tasks-db worker in batch mode: process every ready task, then return.

    The worker recycles database connections between tasks; inside a test's transaction that would
    drop the test's connection, so only that recycling is switched off."""
    from django_tasks_db.management.commands import db_worker

    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)

    def run() -> None:
        db_worker.Worker(
            queue_names=["*"], interval=0, batch=True, backend_name="default", startup_delay=False,
            max_tasks=None, worker_id="test-worker", excluded_queue_names=[],
        ).run()

    return run


class _Gateway:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.fail_next = 0  # reply 503 to this many requests, then 200
        self.server: HTTPServer | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/send"


@pytest.fixture
def sms_gateway(settings):
    """A real HTTP SMS gateway on a free local port, recording what it receives."""
    gateway = _Gateway()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            gateway.requests.append({
                "path": self.path, "auth": self.headers.get("Authorization"), "json": json.loads(body),
            })
            status = 503 if gateway.fail_next > 0 else 200
            gateway.fail_next = max(gateway.fail_next - 1, 0)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"id": "msg-1"}' if status == 200 else b'{"error": "busy"}')

        def log_message(self, *args):
            pass

    gateway.server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=gateway.server.serve_forever, daemon=True)
    thread.start()
    settings.SMS_GATEWAY_URL = gateway.url
    settings.SMS_GATEWAY_TOKEN = "gateway-secret"
    yield gateway
    gateway.server.shutdown()
    gateway.server.server_close()


@pytest.fixture
def sample_manifest():
    """The sample module's manifest, discovered the way Django's app loading does it, and removed
    afterwards so the rest of the suite never sees it."""
    from dothi.core.manifests import registry

    registry.discover(AppConfig.create("tests.sample_module"))
    try:
        yield registry.get("sample")
    finally:
        registry.unregister("sample")
