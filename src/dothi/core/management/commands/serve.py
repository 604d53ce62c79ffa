from __future__ import annotations

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from dothi.core.management.commands import _processes


def unapplied_migrations() -> list[str]:
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]


class Command(BaseCommand):
    help = (
        "Serve a configured deployment: collect static files, refuse to start with unapplied migrations, "
        "then run the web server (uvicorn workers; gunicorn with uvicorn workers; or gunicorn's threaded "
        "WSGI workers with --server wsgi) with the task worker "
        "and the scheduler."
    )
    requires_migrations_checks = False

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="bind address (put a TLS proxy in front)")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=2, help="web server worker processes")
        parser.add_argument("--server", choices=["uvicorn", "gunicorn", "wsgi"], default="uvicorn")
        parser.add_argument(
            "--no-background",
            action="store_true",
            help="do not start the task worker and scheduler (run them elsewhere: `dothi db_worker`)",
        )
        parser.add_argument("--skip-collectstatic", action="store_true")

    def handle(self, *args, host, port, workers, server, no_background, skip_collectstatic, **options):
        if workers < 1:
            raise CommandError("--workers must be at least 1.")
        pending = unapplied_migrations()
        if pending:
            raise CommandError(
                f"{len(pending)} migration(s) are not applied ({', '.join(pending[:5])}"
                f"{', …' if len(pending) > 5 else ''}). Run `dothi migrate` first; refusing to start."
            )
        if not skip_collectstatic:
            call_command("collectstatic", interactive=False, verbosity=0)
        self.stdout.write(f"Serving on http://{host}:{port}/ with {workers} {server} worker(s)")
        _processes.serve(
            host=host, port=port, workers=workers, background=not no_background, server=server,
            write=self.stdout.write,
        )
