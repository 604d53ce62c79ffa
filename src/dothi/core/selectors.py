"""Reads of the shared kernel, always scoped by city."""

from __future__ import annotations

from dothi.core.models import Agreement, City, Feedback, Notification, NotificationPreference, Organisation


def active_cities():
    return City.objects.filter(is_active=True).order_by("slug")


# --- Notifications (a person's own inbox) -------------------------------------------------------


def notifications_for(user, city: City | None = None):
    """The person's inbox, newest first; in one city when the request has one."""
    qs = Notification.objects.filter(recipient=user)
    return qs.filter(city=city) if city is not None else qs


def notification_unread_count(user, city: City | None = None) -> int:
    return notifications_for(user, city).filter(read_at__isnull=True).count()


def notification_preferences(user) -> dict[str, list[str]]:
    """topic -> channels; "*" applies to every topic without its own choice."""
    return dict(NotificationPreference.objects.filter(user=user).values_list("topic", "channels"))


# --- Feedback ----------------------------------------------------------------------------------


def feedback_summary(city: City, subject_type: str, period) -> dict:
    """Count, mean and distribution (1–5) of the ratings given in `period` (a manifests.Period of the
    city's local dates, end exclusive) on one subject type: what the KPI and survey modules read."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    from django.db.models import Count

    tz = ZoneInfo(city.time_zone)
    start = dt.datetime.combine(period.start, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(period.end, dt.time.min, tzinfo=tz)
    rows = (
        Feedback.objects.for_city(city)
        .filter(subject_type=subject_type, created_at__gte=start, created_at__lt=end)
        .values("rating")
        .annotate(n=Count("id"))
    )
    distribution = {r: 0 for r in range(1, 6)}
    for row in rows:
        distribution[row["rating"]] = row["n"]
    count = sum(distribution.values())
    mean = round(sum(r * n for r, n in distribution.items()) / count, 3) if count else None
    return {"count": count, "mean": mean, "distribution": distribution}


# --- Organisations and agreements --------------------------------------------------------------


def organisations(city: City, kind: str | None = None, active_only: bool = True):
    qs = Organisation.objects.for_city(city)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.filter(is_active=True) if active_only else qs


def agreements_in_force(city: City, on=None, kind: str | None = None):
    """Agreements in force on a date (today in the city by default): started, not yet ended."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    from django.db.models import Q

    on = on or dt.datetime.now(ZoneInfo(city.time_zone)).date()
    qs = Agreement.objects.for_city(city).filter(
        Q(starts_on__lte=on) & (Q(ends_on__isnull=True) | Q(ends_on__gte=on))
    )
    return qs.filter(kind=kind) if kind else qs


# --- Communes and their boundaries (geo-demo) ---------------------------------------------------


def communes_of_city(city: City):
    """The communes of the city's province, each annotated with `boundary_approximate` (True for an
    approximate cell, False for an imported official boundary, None when the city has none yet)."""
    from django.db.models import OuterRef, Subquery

    from dothi.core.models import Commune, CommuneArea

    areas = CommuneArea.objects.filter(city=city, commune=OuterRef("pk"))
    return (
        Commune.objects.filter(province_id=city.province_code)
        .annotate(boundary_approximate=Subquery(areas.values("approximate")[:1]))
        .order_by("code")
    )


def commune_areas(city: City):
    from dothi.core.models import CommuneArea

    return CommuneArea.objects.for_city(city).select_related("commune").order_by("commune_id")
