"""Reads of the warnings module, always scoped by city.

Public reads see published, ended and cancelled warnings only: a draft or a rejected warning does not
exist for the public (404), whatever its uid. "Active" means published, effective and not expired
(`PublicWarning.is_active`), so a warning whose expiry passed is no longer shown as active even before
the scheduled `expire_warnings` has marked it ended.

Areas are matched by commune code against `PublicWarning.commune_codes` (a JSON list): the text match
on the quoted code (`"20194"`) works alike on SQLite and PostgreSQL, and a city has few active
warnings at a time, so no index is needed for it.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.core.paginator import Page, Paginator
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from dothi.alerts.models import (
    SEVERITY_RANK,
    AlertCategory,
    CapMessage,
    PublicWarning,
    SafetyReply,
    Subscription,
)
from dothi.core.errors import NotFound
from dothi.core.models import City, CommuneArea

Status = PublicWarning.Status
PUBLIC_STATUSES = (Status.PUBLISHED, Status.ENDED, Status.CANCELLED)
# How long an ended or cancelled warning stays in the Atom feed (so readers learn of the all-clear).
FEED_ENDED_WINDOW = timedelta(hours=24)
# How far back the public page lists ended warnings.
RECENTLY_ENDED_WINDOW = timedelta(days=7)
PAGE_SIZE = 20

_RANK = Case(
    *[When(severity=name, then=Value(rank)) for name, rank in SEVERITY_RANK.items()],
    default=Value(0),
    output_field=IntegerField(),
)


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


def _public(city: City) -> QuerySet[PublicWarning]:
    return (
        PublicWarning.objects.for_city(city)
        .filter(status__in=PUBLIC_STATUSES)
        .select_related("category", "issuer")
    )


def _active_q(now: datetime) -> Q:
    return Q(status=Status.PUBLISHED, effective_at__lte=now) & (
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )


def _in_commune(code: str) -> Q:
    return Q(commune_codes__icontains=f'"{code}"')


# --- Categories -------------------------------------------------------------------------------------


def categories(city: City) -> QuerySet[AlertCategory]:
    """The city's active categories, in their order."""
    return AlertCategory.objects.for_city(city).filter(is_active=True).order_by("order", "code")


# --- Public warnings --------------------------------------------------------------------------------


def active_warnings(
    city: City, *, now: datetime | None = None, commune_code: str | None = None, category: str | None = None
) -> QuerySet[PublicWarning]:
    """The city's active warnings and news, worst severity first, then the newest; optionally only
    those whose area includes a commune, or of one category (code)."""
    qs = _public(city).filter(_active_q(_now(now)))
    if commune_code:
        qs = qs.filter(_in_commune(str(commune_code)))
    if category:
        qs = qs.filter(category__code=category)
    return qs.annotate(severity_rank=_RANK).order_by("-severity_rank", "-effective_at", "-pk")


def recently_ended(
    city: City, *, now: datetime | None = None, category: str | None = None, limit: int = 10
) -> list[PublicWarning]:
    """Warnings that ended, were cancelled or expired in the last week, newest first."""
    now = _now(now)
    since = now - RECENTLY_ENDED_WINDOW
    qs = _public(city).filter(
        Q(status__in=(Status.ENDED, Status.CANCELLED), ended_at__gte=since)
        | Q(status=Status.PUBLISHED, expires_at__lte=now, expires_at__gte=since)
    )
    if category:
        qs = qs.filter(category__code=category)
    rows = list(qs.order_by("-updated_at", "-pk")[: limit * 2])
    rows.sort(key=lambda w: w.ended_at or w.expires_at or w.updated_at, reverse=True)
    return rows[:limit]


def warnings_page(
    city: City, *, status: str = "active", category: str | None = None, page: int | str | None = 1,
    now: datetime | None = None, page_size: int = PAGE_SIZE,
) -> Page:
    """A page of public warnings: `status` "active" (the default), "ended" (ended, cancelled or
    expired) or "all"; optionally one category (code). An out-of-range page gives the last one."""
    now = _now(now)
    if status == "active":
        qs = active_warnings(city, now=now, category=category)
    else:
        qs = _public(city)
        if status == "ended":
            qs = qs.exclude(_active_q(now)).exclude(status=Status.PUBLISHED, effective_at__gt=now)
        if category:
            qs = qs.filter(category__code=category)
        qs = qs.order_by("-effective_at", "-pk")
    return Paginator(qs, page_size).get_page(page)


def warning_by_uid(city: City, uid, *, public: bool = True) -> PublicWarning:
    """The warning with this uid in the city, or NotFound. Public callers (the default) never get a
    draft or a rejected warning; staff views pass `public=False`."""
    try:
        key = uid if isinstance(uid, uuid.UUID) else uuid.UUID(str(uid))
    except (TypeError, ValueError, AttributeError):
        raise NotFound(_("No such warning.")) from None
    qs = _public(city)
    if not public:
        qs = PublicWarning.objects.for_city(city).select_related("category", "issuer")
    found = qs.filter(uid=key).first()
    if found is None:
        raise NotFound(_("No such warning."))
    return found


def messages_of(warning: PublicWarning) -> list[CapMessage]:
    """The published CAP messages of a warning, oldest first (its timeline)."""
    return list(CapMessage.objects.filter(warning=warning, city_id=warning.city_id).order_by("version"))


def message_of(warning: PublicWarning, version: int | None = None) -> CapMessage:
    """One published message of the warning (the newest without `version`), or NotFound."""
    qs = CapMessage.objects.filter(warning=warning, city_id=warning.city_id)
    found = qs.filter(version=version).first() if version is not None else qs.order_by("-version").first()
    if found is None:
        raise NotFound(_("No such message."))
    return found


def messages_for_feed(city: City, now: datetime | None = None) -> list[CapMessage]:
    """The Atom index: the newest message of every active warning, and of those ended or cancelled in
    the last 24 hours (their all-clear or cancellation), newest first."""
    now = _now(now)
    warnings = _public(city).filter(
        _active_q(now)
        | Q(status__in=(Status.ENDED, Status.CANCELLED), ended_at__gte=now - FEED_ENDED_WINDOW)
    )
    newest: dict[int, CapMessage] = {}
    for message in (
        CapMessage.objects.filter(city=city, warning__in=warnings)
        .select_related("warning", "warning__category")
        .order_by("warning_id", "-version")
    ):
        newest.setdefault(message.warning_id, message)
    return sorted(newest.values(), key=lambda m: (m.sent_at, m.pk), reverse=True)


def _polygons(geometry: dict | None) -> list:
    """The polygons' coordinate lists of a GeoJSON Polygon or MultiPolygon (anything else: none)."""
    if not isinstance(geometry, dict):
        return []
    if geometry.get("type") == "Polygon":
        return [geometry.get("coordinates") or []]
    if geometry.get("type") == "MultiPolygon":
        return list(geometry.get("coordinates") or [])
    return []


def _detail_url(uid) -> str:
    try:
        return reverse("alerts:detail", args=[uid])
    except NoReverseMatch:
        return ""


def area_geometry(
    city: City, warning: PublicWarning, cells: dict[str, dict] | None = None
) -> tuple[dict | None, bool]:
    """The warning's area as GeoJSON and whether it is approximate: its polygon if it has one, else
    its communes' boundaries as one MultiPolygon (cells are not dissolved: the map draws them as they
    are). None when neither is known (a city without boundaries)."""
    if warning.polygon:
        return warning.polygon, False
    if cells is None:
        cells = _cells(city, warning.commune_codes or [])
    parts, approximate = [], False
    for code in warning.commune_codes or []:
        cell = cells.get(code)
        if cell is None:
            continue
        parts.extend(_polygons(cell["geometry"]))
        approximate = approximate or cell["approximate"]
    if not parts:
        return None, False
    return {"type": "MultiPolygon", "coordinates": parts}, approximate


def _cells(city: City, codes) -> dict[str, dict]:
    rows = CommuneArea.objects.for_city(city).filter(commune_id__in=list(codes))
    return {
        code: {"geometry": geometry, "approximate": approximate}
        for code, geometry, approximate in rows.values_list("commune_id", "geometry", "approximate")
    }


def active_geojson(city: City, *, now: datetime | None = None, category: str | None = None) -> dict:
    """The active warnings' areas as a GeoJSON FeatureCollection, worst first (what the public map and
    the control centre draw). Each feature's properties: uid, headline, category (code and name),
    severity (and its rank), news or not, area description, effective and expiry times (ISO 8601),
    the page's url and whether the geometry is approximate (commune cells)."""
    warnings = list(active_warnings(city, now=now, category=category))
    cells = _cells(city, {code for w in warnings if not w.polygon for code in (w.commune_codes or [])})
    features = []
    for w in warnings:
        geometry, approximate = area_geometry(city, w, cells)
        if geometry is None:
            continue
        features.append(
            {
                "type": "Feature",
                "id": str(w.uid),
                "geometry": geometry,
                "properties": {
                    "uid": str(w.uid),
                    "headline": w.headline,
                    "category": w.category.code,
                    "category_name": w.category.name,
                    "is_news": w.category.is_news,
                    "severity": w.severity,
                    "severity_label": str(w.get_severity_display()),
                    "severity_rank": SEVERITY_RANK.get(w.severity, 0),
                    "area": w.area_desc,
                    "effective_at": w.effective_at.isoformat() if w.effective_at else None,
                    "expires_at": w.expires_at.isoformat() if w.expires_at else None,
                    "version": w.version,
                    "url": _detail_url(w.uid),
                    "approximate": approximate,
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


# --- A citizen's own ---------------------------------------------------------------------------------


def subscription_of(user, city: City) -> Subscription | None:
    """The person's subscription in the city, or None."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return (
        Subscription.objects.for_city(city)
        .filter(user=user)
        .select_related("home_commune", "work_commune")
        .first()
    )


def safety_reply_of(user, warning: PublicWarning) -> SafetyReply | None:
    """The person's current answer to a warning's "are you safe?", or None."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return SafetyReply.objects.filter(city_id=warning.city_id, warning=warning, user=user).first()


def home_summary(user, city: City, *, now: datetime | None = None, limit: int = 5) -> dict:
    """What the citizen home page shows: the active warnings where the person lives (the home commune
    of their subscription), else the city's active warnings. `scope` says which: "home" or "city"."""
    subscription = subscription_of(user, city)
    commune = subscription.home_commune if subscription and subscription.is_active else None
    qs = active_warnings(city, now=now, commune_code=commune.code if commune else None)
    rows = list(qs[: limit + 1])
    return {
        "scope": "home" if commune else "city",
        "commune": commune,
        "warnings": rows[:limit],
        "more": len(rows) > limit,
    }


# --- Staff reads (appended below by the staff engineer) ---------------------------------------------


# --- staff
# Reads of the staff pages and the staff API (staff_views.py, api.py). Staff see every status.

STAFF_SECTIONS = ("awaiting", "mine", "active", "automatic", "ended")
_ENDED_STATUSES = (Status.ENDED, Status.CANCELLED, Status.REJECTED)


def _staff_qs(city: City) -> QuerySet[PublicWarning]:
    return (
        PublicWarning.objects.for_city(city)
        .select_related("category", "issuer", "created_by", "approved_by")
    )


def staff_warnings(city: City, *, section: str, user) -> QuerySet[PublicWarning]:
    """One list of the staff home page: "awaiting" (drafts awaiting approval, oldest first), "mine"
    (the person's own drafts and rejected ones), "active" (manual warnings published), "automatic"
    (published by a rule) or "ended" (ended, cancelled or rejected, newest first)."""
    qs = _staff_qs(city)
    if section == "awaiting":
        return qs.filter(status=Status.DRAFT).order_by("created_at", "pk")
    if section == "mine":
        return qs.filter(created_by=user, status__in=(Status.DRAFT, Status.REJECTED)).order_by(
            "-updated_at", "-pk"
        )
    if section == "active":
        return qs.filter(status=Status.PUBLISHED, source=PublicWarning.Source.MANUAL).order_by(
            "-published_at", "-pk"
        )
    if section == "automatic":
        return qs.filter(status=Status.PUBLISHED, source=PublicWarning.Source.RULE).order_by(
            "-published_at", "-pk"
        )
    if section == "ended":
        return qs.filter(status__in=_ENDED_STATUSES).order_by("-updated_at", "-pk")
    raise ValueError(f"Unknown section {section!r}")


def staff_section_counts(city: City, *, user) -> dict[str, int]:
    """How many warnings each list of the staff home page holds (one query)."""
    from django.db.models import Count

    qs = PublicWarning.objects.for_city(city)
    manual, rule = PublicWarning.Source.MANUAL, PublicWarning.Source.RULE
    counts = qs.aggregate(
        awaiting=Count("pk", filter=Q(status=Status.DRAFT)),
        mine=Count("pk", filter=Q(created_by=user, status__in=(Status.DRAFT, Status.REJECTED))),
        active=Count("pk", filter=Q(status=Status.PUBLISHED, source=manual)),
        automatic=Count("pk", filter=Q(status=Status.PUBLISHED, source=rule)),
        ended=Count("pk", filter=Q(status__in=_ENDED_STATUSES)),
    )
    return {key: counts[key] or 0 for key in STAFF_SECTIONS}


def drafts_awaiting(city: City) -> QuerySet[PublicWarning]:
    """Drafts awaiting approval, the oldest first."""
    return staff_warnings(city, section="awaiting", user=None)


def staff_warning(city: City, uid) -> PublicWarning:
    """A warning of the city in any status (drafts and rejected ones included), or NotFound."""
    return warning_by_uid(city, uid, public=False)


def fanouts_of(warning: PublicWarning) -> list:
    """The delivery runs of a warning's messages, newest message first, each with its message."""
    from dothi.alerts.models import Fanout

    return list(
        Fanout.objects.filter(city_id=warning.city_id, message__warning=warning)
        .select_related("message")
        .order_by("-message__version", "-pk")
    )


def audit_trail_of(warning: PublicWarning, *, limit: int = 200) -> list:
    """The audit records of a warning and of its messages, newest first."""
    from dothi.core.models import AuditEvent

    message_ids = [str(pk) for pk in CapMessage.objects.filter(warning=warning).values_list("pk", flat=True)]
    return list(
        AuditEvent.objects.filter(city_id=warning.city_id)
        .filter(
            Q(object_type="alerts.publicwarning", object_id=str(warning.pk))
            | Q(object_type="alerts.capmessage", object_id__in=message_ids)
        )
        .order_by("-at", "-pk")[:limit]
    )


def safety_warnings(city: City, *, now: datetime | None = None) -> list[PublicWarning]:
    """Warnings whose "are you safe?" replies the control centre follows: the active ones that ask, and
    any active one that has replies; each annotated with `n_need_help`, `n_open` (need help, not yet
    handled) and `n_safe`. The most in need of help first."""
    from django.db.models import Count

    need, safe = SafetyReply.Status.NEED_HELP, SafetyReply.Status.SAFE
    qs = (
        _public(city)
        .filter(_active_q(_now(now)))
        .annotate(
            n_need_help=Count("safety_replies", filter=Q(safety_replies__status=need)),
            n_open=Count(
                "safety_replies",
                filter=Q(safety_replies__status=need, safety_replies__handled_at__isnull=True),
            ),
            n_safe=Count("safety_replies", filter=Q(safety_replies__status=safe)),
        )
        .filter(Q(asks_safety=True) | Q(n_need_help__gt=0) | Q(n_safe__gt=0))
    )
    return sorted(qs, key=lambda w: (-w.n_open, -w.n_need_help, -w.effective_at.timestamp(), -w.pk))


def replies_of(warning: PublicWarning, *, status: str | None = None) -> QuerySet[SafetyReply]:
    """The replies to a warning (optionally of one status), open "need help" ones first. Callers show
    where and when, never who: no names or phone numbers leave here (no user is selected)."""
    qs = SafetyReply.objects.filter(city_id=warning.city_id, warning=warning).select_related("commune")
    if status:
        qs = qs.filter(status=status)
    return qs.order_by(
        Case(When(status=SafetyReply.Status.NEED_HELP, handled_at__isnull=True, then=Value(0)),
             default=Value(1), output_field=IntegerField()),
        "-updated_at",
        "-pk",
    )


def reply_of(warning: PublicWarning, pk: int) -> SafetyReply:
    found = SafetyReply.objects.filter(city_id=warning.city_id, warning=warning, pk=pk).first()
    if found is None:
        raise NotFound(_("No such reply."))
    return found


def replies_geojson(
    city: City, warning: PublicWarning | None = None, *, warnings=None, limit: int = 5000
) -> dict:
    """The located replies to one warning (or to `warnings`, by default every warning
    `safety_warnings` lists) as GeoJSON points: status, handled or not, commune, note and time, and
    nothing that names the person (the caller audits the read). Replies without a location are counted
    in `unlocated`."""
    if warning is not None:
        warnings = [warning]
    elif warnings is None:
        warnings = safety_warnings(city)
    qs = (
        SafetyReply.objects.filter(city=city, warning__in=[w.pk for w in warnings])
        .select_related("commune", "warning")
        .order_by("-updated_at", "-pk")
    )
    features, unlocated = [], 0
    for reply in qs[:limit]:
        if reply.lat is None or reply.lon is None:
            unlocated += 1
            continue
        features.append(
            {
                "type": "Feature",
                "id": reply.pk,
                "geometry": {"type": "Point", "coordinates": [round(reply.lon, 6), round(reply.lat, 6)]},
                "properties": {
                    "id": reply.pk,
                    "warning": str(reply.warning.uid),
                    "status": reply.status,
                    "status_label": str(reply.get_status_display()),
                    "handled": reply.handled_at is not None,
                    "commune": reply.commune.name if reply.commune else "",
                    "note": reply.note,
                    "at": timezone.localtime(reply.updated_at).isoformat(),
                },
            }
        )
    return {"type": "FeatureCollection", "features": features, "unlocated": unlocated}


# --- Control centre (the manifest's panels, alarm sources and ward summary) -------------------------

# A warning's CAP severity → the control centre's level (news is "info").
IOC_LEVELS = {"Extreme": "danger", "Severe": "danger", "Moderate": "warning"}
IOC_ALARM_LIMIT = 500


def ioc_level(warning: PublicWarning) -> str:
    if warning.category.is_news:
        return "info"
    return IOC_LEVELS.get(warning.severity, "info")


def _meta(props: dict) -> str:
    from django.utils.dateparse import parse_datetime
    from django.utils.formats import date_format

    meta = props["category_name"]
    if not props["is_news"]:
        meta = f"{meta} · {props['severity_label']}"
    expires = parse_datetime(props["expires_at"]) if props.get("expires_at") else None
    if expires is not None:
        until = date_format(timezone.localtime(expires), "SHORT_DATETIME_FORMAT")
        meta = _("%(meta)s · until %(time)s") % {"meta": meta, "time": until}
    return meta


def ioc_active_geojson(city: City, *, now: datetime | None = None) -> dict:
    """The `alerts.active` panel: `active_geojson` (the public map's features, their properties kept)
    with the control centre's properties added: id, title, level (from the CAP severity; news is
    "info"), meta, and the warning's summary fragment. One query for the warnings, one for the
    communes' cells."""
    data = active_geojson(city, now=now)
    for feature in data["features"]:
        props = feature["properties"]
        props.update(
            id=props["uid"],
            title=props["headline"],
            level="info" if props["is_news"] else IOC_LEVELS.get(props["severity"], "info"),
            meta=_meta(props),
            fragment=reverse("alerts:fragment", args=[props["uid"]]),
        )
    return data


def _need_help_q() -> Q:
    return Q(safety_replies__status=SafetyReply.Status.NEED_HELP, safety_replies__handled_at__isnull=True)


def ioc_need_help_panel(city: City, *, now: datetime | None = None) -> dict:
    """The `alerts.need_help` panel (a list): the active warnings with "I need help" replies nobody
    has handled yet, the most first; counts only (who and where is on the audited replies page). The
    totals over every warning that asks stay alongside (`need_help`, `open`, `safe`). One query."""
    warnings = safety_warnings(city, now=now)
    items = [
        {
            "title": w.headline,
            "meta": _("%(open)s waiting for help · %(need_help)s asked · %(safe)s safe")
            % {"open": w.n_open, "need_help": w.n_need_help, "safe": w.n_safe},
            "level": "danger",
            "url": reverse("alerts:staff_replies") + f"?warning={w.uid}",
            "at": timezone.localtime(w.effective_at).isoformat(),
            "uid": str(w.uid),
            "need_help": w.n_need_help,
            "open": w.n_open,
            "safe": w.n_safe,
        }
        for w in warnings
        if w.n_open
    ]
    return {
        "items": items,
        "need_help": sum(w.n_need_help for w in warnings),
        "open": sum(w.n_open for w in warnings),
        "safe": sum(w.n_safe for w in warnings),
    }


def _centre(w: PublicWarning) -> tuple[float | None, float | None]:
    if None in (w.min_lon, w.max_lon, w.min_lat, w.max_lat):
        return None, None
    return (w.min_lon + w.max_lon) / 2, (w.min_lat + w.max_lat) / 2


def ioc_rule_warnings(city: City, *, now: datetime | None = None, limit: int = IOC_ALARM_LIMIT) -> list:
    """The `alerts.warning:<uid>` alarm candidates: active automatic warnings (a rule's breach), worst
    first, their level from the CAP severity. One query."""
    from dothi.core.manifests import AlarmCandidate

    found = []
    for w in active_warnings(city, now=now).filter(source=PublicWarning.Source.RULE)[:limit]:
        lon, lat = _centre(w)
        codes = w.commune_codes or []
        found.append(
            AlarmCandidate(
                key=f"alerts.warning:{w.uid}",
                kind="breach",
                title=w.headline,
                raised_at=w.triggered_at or w.effective_at,
                level=IOC_LEVELS.get(w.severity, "info"),
                detail=" · ".join(p for p in (w.description, w.area_desc) if p),
                url=reverse("alerts:detail", args=[w.uid]),
                lon=lon,
                lat=lat,
                commune_code=codes[0] if len(codes) == 1 else "",
            )
        )
    return found


def ioc_need_help_alarms(city: City, *, now: datetime | None = None, limit: int = IOC_ALARM_LIMIT) -> list:
    """The `alerts.need_help:<uid>` alarm candidates: active warnings with "I need help" replies nobody
    has handled, the most first, raised when the oldest of those replies came. Counts only. One query."""
    from django.db.models import Count, Min

    from dothi.core.manifests import AlarmCandidate

    qs = (
        _public(city)
        .filter(_active_q(_now(now)))
        .annotate(
            n_open=Count("safety_replies", filter=_need_help_q()),
            first_open=Min("safety_replies__updated_at", filter=_need_help_q()),
        )
        .filter(n_open__gt=0)
        .order_by("-n_open", "first_open", "pk")[:limit]
    )
    found = []
    for w in qs:
        lon, lat = _centre(w)
        codes = w.commune_codes or []
        found.append(
            AlarmCandidate(
                key=f"alerts.need_help:{w.uid}",
                kind="need_help",
                title=_("%(n)s people need help: %(headline)s") % {"n": w.n_open, "headline": w.headline},
                raised_at=w.first_open,
                level="danger",
                detail=w.area_desc,
                url=reverse("alerts:staff_replies") + f"?warning={w.uid}",
                lon=lon,
                lat=lat,
                commune_code=codes[0] if len(codes) == 1 else "",
            )
        )
    return found


def ioc_ward_summary(city: City, commune_code: str, *, now: datetime | None = None) -> list[dict]:
    """A commune's active warnings for the control centre's ward drawer: how many, coloured by the
    worst, and the worst one's headline. One query."""
    warnings = list(active_warnings(city, now=now, commune_code=commune_code)[:50])
    levels = [ioc_level(w) for w in warnings]
    worst = next((lv for lv in ("danger", "warning", "info") if lv in levels), "normal")
    items = [
        {"label": _("Active warnings"), "value": len(warnings), "level": worst, "url": reverse("alerts:list")}
    ]
    if warnings:
        w = warnings[0]
        items.append(
            {
                "label": _("Worst warning"),
                "value": w.headline,
                "level": ioc_level(w),
                "url": reverse("alerts:detail", args=[w.uid]),
            }
        )
    return items


# --- Point set (core.geo.reassign_points re-locates these when official commune boundaries arrive) ----


def safety_reply_point_rows(city: City):
    """(pk, lon, lat, commune code) of every SafetyReply of the city, streamed; a reply without a point is
    skipped."""
    from dothi.alerts.models import SafetyReply

    return (
        SafetyReply.objects.filter(city=city).filter(lat__isnull=False, lon__isnull=False)
        .values_list("pk", "lon", "lat", "commune_id")
        .iterator(chunk_size=20_000)
    )
