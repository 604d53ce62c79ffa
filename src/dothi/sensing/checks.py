"""System checks of the sensing module."""

from __future__ import annotations

import sqlite3

from django.core.checks import Error, register
from django.db import connections

# UPDATE … FROM (3.33) and upserts (3.24): the SQLite ingestion path needs both.
MIN_SQLITE = (3, 33, 0)


@register()
def sqlite_version(app_configs=None, **kwargs):
    if any(connections[alias].vendor == "sqlite" for alias in connections) and (
        sqlite3.sqlite_version_info < MIN_SQLITE
    ):
        return [
            Error(
                f"SQLite {sqlite3.sqlite_version} is too old for sensor ingestion (needs 3.33 or later).",
                id="sensing.E001",
            )
        ]
    return []
