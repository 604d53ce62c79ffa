"""Reads of the control centre, always scoped by city: the panels the other modules contribute (through
the manifest registry, never by importing them), the alarms, the incident log, shift handovers and the
summary of one ward."""

from __future__ import annotations

import logging
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Case, Count, IntegerField, Q, Value, When
from django.utils.translation import gettext as _

from dothi.core.errors import InvalidInput, NotFound
from dothi.core.manifests import Panel, registry
from dothi.core.models import City, Commune
from dothi.core.permissions import PLATFORM_ADMIN, roles_of
from dothi.ioc.models import LEVEL_RANK, Alarm, AlarmLevel, IncidentEntry, ShiftHandover

logger = logging.getLogger(__name__)

PAGE_SIZE = 25
ALARM_STATUSES = ("active", "closed", "all")
PANEL_KINDS = ("geojson", "counts", "series", "list")


# --- Panels -----------------------------------------------------------------------------------------


def panels_for(user, city: City) -> list[Panel]:
    """The panels of the modules enabled in the city that the user's roles may see, by order (an empty
    `roles` means everyone who may open the control centre)."""
    held = roles_of(user, city)
    found = [
        p
        for m in registry.all()
        if city.module_enabled(m.name)
        for p in m.panels
        if not p.roles or PLATFORM_ADMIN in held or held & p.roles
    ]
    return sorted(found, key=lambda p: (p.order, p.code))


def panel(user, city: City, code: str) -> Panel:
    for p in panels_for(user, city):
        if p.code == code:
            return p
    raise NotFound(_("There is no such panel."))


def panel_data(user, city: City, code: str) -> dict[str, Any]:
    """One panel's current data: {"code", "title", "kind", "refresh_seconds", "ok", "data"}. `NotFound`
    for an unknown panel or one the user may not see. A panel whose module fails answers `ok: False`
    with empty data (logged), so one broken module never blanks the screen."""
    p = panel(user, city, code)
    try:
        data = p.data(city)
        ok = isinstance(data, dict)
        if not ok:
            logger.error("ioc: panel %s returned %r, not a dict", code, type(data))
    except Exception:
        logger.exception("ioc: panel %s failed in %s", code, city.slug)
        data, ok = None, False
    if not ok:
        data = {"type": "FeatureCollection", "features": []} if p.kind == "geojson" else {"items": []}
    return {
        "code": p.code,
        "title": str(p.title),
        "kind": p.kind,
        "refresh_seconds": p.refresh_seconds,
        "ok": ok,
        "data": data,
    }


# --- Alarms -----------------------------------------------------------------------------------------


def _level_rank():
    return Case(
        *[When(level=k, then=Value(v)) for k, v in LEVEL_RANK.items()],
        default=Value(0),
        output_field=IntegerField(),
    )


def alarms_queryset(city: City, *, status: str = "active", level: str | None = None):
    if status not in ALARM_STATUSES:
        raise InvalidInput(_("Unknown status."), field="status")
    if level and level not in AlarmLevel.values:
        raise InvalidInput(_("Unknown level."), field="level")
    qs = Alarm.objects.for_city(city).select_related("commune", "acknowledged_by", "assigned_to", "closed_by")
    if status == "active":
        # What needs someone first: the worst, then the new ones, then the newest.
        qs = (
            qs.exclude(status=Alarm.Status.CLOSED)
            .annotate(rank=_level_rank())
            .annotate(
                fresh=Case(
                    When(status=Alarm.Status.OPEN, then=Value(1)),
                    default=Value(0),
                    output_field=IntegerField(),
                )
            )
            .order_by("-rank", "-fresh", "-raised_at", "-pk")
        )
    elif status == "closed":
        qs = qs.filter(status=Alarm.Status.CLOSED).order_by("-closed_at", "-pk")
    else:
        qs = qs.order_by("-raised_at", "-pk")
    if level:
        qs = qs.filter(level=level)
    return qs


def _page(qs, page: int, size: int = PAGE_SIZE) -> Page:
    return Paginator(qs, size).get_page(page)


def alarms(
    city: City, *, status: str = "active", level: str | None = None, page: int = 1, page_size: int = PAGE_SIZE
) -> Page:
    """A page of the city's alarms: "active" (not closed; worst and newest first), "closed" or "all"."""
    return _page(alarms_queryset(city, status=status, level=level), page, page_size)


def alarm(city: City, pk: int) -> Alarm:
    found = Alarm.objects.for_city(city).select_related("commune", "city").filter(pk=pk).first()
    if found is None:
        raise NotFound(_("There is no such alarm."))
    return found


def alarm_counts(city: City) -> dict[str, int]:
    """The alarms not closed, by status and level, and how many are cleared (the module no longer
    reports them) but still to be closed."""
    active = ~Q(status=Alarm.Status.CLOSED)
    found = Alarm.objects.for_city(city).aggregate(
        active=Count("pk", filter=active),
        open=Count("pk", filter=Q(status=Alarm.Status.OPEN)),
        acknowledged=Count("pk", filter=Q(status=Alarm.Status.ACKNOWLEDGED)),
        assigned=Count("pk", filter=Q(status=Alarm.Status.ASSIGNED)),
        danger=Count("pk", filter=active & Q(level=AlarmLevel.DANGER)),
        warning=Count("pk", filter=active & Q(level=AlarmLevel.WARNING)),
        info=Count("pk", filter=active & Q(level=AlarmLevel.INFO)),
        cleared=Count("pk", filter=active & Q(cleared_at__isnull=False)),
    )
    return {k: v or 0 for k, v in found.items()}


def assignable_staff(city: City):
    """Who an alarm may be assigned to: the active staff members of the city."""
    from dothi.identity.models import User

    return (
        User.objects.filter(is_active=True, memberships__city=city).distinct().order_by("display_name", "pk")
    )


def operators(city: City):
    """Who a shift may be handed over to: staff holding `ioc.handover` in the city."""
    roles = registry.permissions().get("ioc.handover", frozenset())
    from dothi.identity.models import User

    return (
        User.objects.filter(is_active=True, memberships__city=city, memberships__role__in=roles)
        .distinct()
        .order_by("display_name", "pk")
    )


# --- The incident log and handovers -----------------------------------------------------------------


def log(city: City, *, page: int = 1, page_size: int = PAGE_SIZE) -> Page:
    qs = (
        IncidentEntry.objects.for_city(city)
        .select_related("author", "alarm", "commune")
        .order_by("-at", "-pk")
    )
    return _page(qs, page, page_size)


def handovers(city: City, *, page: int = 1, page_size: int = PAGE_SIZE) -> Page:
    qs = ShiftHandover.objects.for_city(city).select_related("handed_by", "handed_to").order_by("-at", "-pk")
    return _page(qs, page, page_size)


def handover(city: City, pk: int) -> ShiftHandover:
    found = ShiftHandover.objects.for_city(city).select_related("city").filter(pk=pk).first()
    if found is None:
        raise NotFound(_("There is no such handover."))
    return found


def latest_handover(city: City) -> ShiftHandover | None:
    return (
        ShiftHandover.objects.for_city(city)
        .select_related("handed_by", "handed_to")
        .order_by("-at", "-pk")
        .first()
    )


# --- Wards ------------------------------------------------------------------------------------------


def _population(value) -> int | None:
    if isinstance(value, dict):
        value = value.get("population")
    value = getattr(value, "population", value)
    return int(value) if isinstance(value, int | float) else None


def ward_summary(city: City, commune_code: str) -> dict[str, Any]:
    """One commune of the city: its name, population (when `layers.population` is provided) and every
    module's figures for it (`Manifest.ward_summary`, in manifest order; a module that fails is logged
    and left out). `NotFound` for a commune outside the city."""
    commune = Commune.objects.filter(code=commune_code, province_id=city.province_code).first()
    if commune is None:
        raise NotFound(_("There is no such commune in the city."))
    population = None
    provider = registry.provided("layers.population")
    if provider is not None:
        try:
            population = _population(provider(city, commune.code))
        except Exception:
            logger.exception("ioc: layers.population failed for %s", commune.code)
    sections = []
    for manifest, summary in registry.ward_summaries(city):
        try:
            items = [dict(i) for i in summary(city, commune) or []]
        except Exception:
            logger.exception("ioc: the ward summary of %s failed for %s", manifest.name, commune.code)
            continue
        if items:
            sections.append(
                {"module": manifest.name, "label": str(manifest.label or manifest.name), "items": items}
            )
    open_alarms = _active_in(city, commune)
    return {
        "commune": commune,
        "code": commune.code,
        "name": commune.name,
        "kind": commune.kind,
        "population": population,
        "sections": sections,
        "alarms": open_alarms,
    }


def _active_in(city: City, commune: Commune) -> list[Alarm]:
    return list(
        Alarm.objects.for_city(city)
        .filter(commune=commune)
        .exclude(status=Alarm.Status.CLOSED)
        .order_by("-raised_at", "-pk")[:10]
    )


def layer_catalogue(city: City, user) -> list[dict[str, Any]]:
    """The spatial layers the user may see, from `layers.catalogue` (empty when no module provides it)."""
    provider = registry.provided("layers.catalogue")
    if provider is None:
        return []
    try:
        items = list(provider(city, user) or [])
    except Exception:
        logger.exception("ioc: layers.catalogue failed in %s", city.slug)
        return []
    keep = ("code", "name", "sector", "colour", "geometry_kind", "features_url")
    return [{k: str(i.get(k) or "") for k in keep} for i in items if i.get("code") and i.get("features_url")]
