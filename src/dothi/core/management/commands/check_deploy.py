from __future__ import annotations

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, SystemCheckError


def dothi_problems() -> tuple[list[str], list[str]]:
    """(errors, warnings) about this deployment's settings, beyond Django's own deploy checks."""
    errors: list[str] = []
    warnings: list[str] = []
    if settings.SECRET_KEY == settings.INSECURE_DEFAULT_SECRET:
        errors.append("DOTHI_SECRET_KEY is not set: the insecure development secret is in use.")
    if settings.INSECURE_DEFAULT_FIELD_KEY in settings.FIELD_KEYS:
        errors.append(
            "DOTHI_FIELD_KEY uses (or still lists) the insecure demo key: personal data would be readable by "
            "anyone with the source code. Generate keys with `python -c \"from cryptography.fernet import "
            "Fernet; print(Fernet.generate_key().decode())\"`."
        )
    if settings.LOOKUP_KEY == settings.INSECURE_DEFAULT_LOOKUP_KEY:
        errors.append("DOTHI_LOOKUP_KEY is not set: the insecure demo key for identifier hashes is in use.")
    if settings.DEBUG:
        errors.append("DOTHI_DEBUG is on: never run a deployment with debug pages.")
    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        warnings.append(
            "The database is SQLite: fine for a small city on one machine; use PostgreSQL "
            "(DOTHI_DATABASE_URL=postgresql://...) to grow."
        )
    if not getattr(settings, "SECURE_HTTPS", False):
        warnings.append("HTTPS is off (DOTHI_HTTPS): serve behind TLS and set DOTHI_HTTPS=1.")
    if "*" in settings.ALLOWED_HOSTS:
        warnings.append("DOTHI_ALLOWED_HOSTS contains '*': list the host names instead.")
    return errors, warnings


class Command(BaseCommand):
    help = (
        "Check a deployment: Django's `check --deploy` plus dothi's own checks (keys, debug, database, "
        "HTTPS). Exits non-zero on errors."
    )

    def handle(self, *args, **options):
        django_failed = False
        try:
            call_command("check", deploy=True, stdout=self.stdout._out, stderr=self.stderr._out)
        except SystemCheckError as exc:
            django_failed = True
            self.stderr.write(str(exc))
        errors, warnings = dothi_problems()
        for message in warnings:
            self.stdout.write(self.style.WARNING(f"WARNING: {message}"))
        for message in errors:
            self.stderr.write(self.style.ERROR(f"ERROR: {message}"))
        if errors or django_failed:
            raise CommandError(f"The deployment is not ready: {len(errors) + int(django_failed)} problem(s).")
        self.stdout.write(self.style.SUCCESS(f"Deployment checks passed ({len(warnings)} warning(s))."))
