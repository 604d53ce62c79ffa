"""Reads of the shared kernel, always scoped by city."""

from __future__ import annotations

from dothi.core.models import City


def active_cities():
    return City.objects.filter(is_active=True).order_by("slug")
