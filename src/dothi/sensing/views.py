"""Sensor pages: the public map of the city's sensors coloured by their latest values (with a list view
for keyboards and screen readers), and a sensor's page with its latest values, owner, status and a
chart per quantity. Thin: filters in, one selector, templates or compact JSON out. The colours come
from `dothi.sensing.levels`."""

from __future__ import annotations

from datetime import timedelta

import orjson
from django import forms
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_safe

from dothi.core.cities import map_centre as _centre
from dothi.core.cities import page_city
from dothi.core.errors import DomainError, NotFound
from dothi.core.models import Organisation
from dothi.sensing import catalogue, levels, selectors
from dothi.sensing.models import Latest, Sensor

PAGE_SIZE = 50

# The chart's periods: the selector picks raw rows for a day, hourly rollups up to three months and
# daily ones beyond (selectors.choose_resolution).
PERIODS: dict[str, tuple[timedelta, object]] = {
    "24h": (timedelta(hours=24), gettext_lazy("24 hours")),
    "7d": (timedelta(days=7), gettext_lazy("7 days")),
    "30d": (timedelta(days=30), gettext_lazy("30 days")),
    "1y": (timedelta(days=365), gettext_lazy("1 year")),
}
DEFAULT_PERIOD = "24h"


def _json(body, *, public: bool, status: int = 200, max_age: int = 60) -> HttpResponse:
    response = HttpResponse(orjson.dumps(body), content_type="application/json", status=status)
    # What staff see includes private sensors: never let a shared cache keep it.
    response["Cache-Control"] = f"public, max-age={max_age}" if public else "private, no-store"
    return response


def _error(exc: DomainError) -> HttpResponse:
    status = exc.status if 400 <= exc.status < 500 else 400
    return _json(exc.as_dict(), public=False, status=status)


class FilterForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", _("All kinds"))] + list(Sensor.Kind.choices)
        self.fields["kind"].widget.attrs["class"] = "form-select"

    def chosen_kind(self) -> str | None:
        """The chosen kind; invalid input filters nothing (a public page never fails)."""
        return (self.cleaned_data.get("kind") or None) if self.is_valid() else None


def _filters(request):
    city = page_city(request)
    form = FilterForm(request.GET or None)
    return city, form, form.chosen_kind() if request.GET else None


def _query(request, drop: tuple[str, ...] = ("page",)) -> str:
    query = request.GET.copy()
    for key in drop:
        query.pop(key, None)
    return query.urlencode()


def _rows(city, viewer, kind: str | None) -> list[dict]:
    """The visible sensors with their latest values, each value with its level, and the sensor's worst
    level (what colours it). Two queries plus one for the water stations' warning levels."""
    sensors = selectors.latest(city=city, viewer=viewer, kind=kind)
    water = [s.id for s in sensors if s.kind == Sensor.Kind.WATER]
    properties = dict(Sensor.objects.filter(pk__in=water).values_list("pk", "properties")) if water else {}
    kinds, statuses = dict(Sensor.Kind.choices), dict(Sensor.Status.choices)
    rows = []
    for s in sensors:
        values = [
            {
                "value": v,
                "display": number_format(v.value, v.quantity.decimals),
                "level": levels.level(v.quantity.code, v.value, properties.get(s.id)),
            }
            for v in s.values
        ]
        # An offline sensor's last values say nothing about now: grey, whatever they were.
        stale = s.status != Sensor.Status.ACTIVE
        worst = levels.NONE if stale else levels.worst(item["level"] for item in values)
        rows.append(
            {
                "sensor": s,
                "values": values,
                "level": worst,
                "kind_label": kinds.get(s.kind, s.kind),
                "status_label": statuses.get(s.status, s.status),
            }
        )
    return rows


@require_safe
def sensor_map(request):
    city, form, kind = _filters(request)
    query = _query(request)
    return render(
        request,
        "sensing/map.html",
        {
            "form": form,
            "data_url": reverse("sensing:map_points") + (f"?{query}" if query else ""),
            "list_url": reverse("sensing:list") + (f"?{query}" if query else ""),
            "communes_url": reverse("api:communes_geojson"),
            "centre": _centre(city),
            "legend": levels.legend(),
            "status_counts": selectors.status_counts(city=city)
            if selectors.can_read_private(request.user, city)
            else None,
            "kind": kind,
        },
    )


@require_safe
def sensor_map_points(request):
    """What the map draws, compact: each point is [lat, lon, code, name, kind index, status index,
    severity, [[quantity index, value, severity, label], …]]; the kinds, statuses, quantities and
    severities are listed once."""
    city, _form, kind = _filters(request)
    rows = _rows(city, request.user, kind)
    kinds = list(Sensor.Kind.choices)
    statuses = list(Sensor.Status.choices)
    kind_index = {value: i for i, (value, _label) in enumerate(kinds)}
    status_index = {value: i for i, (value, _label) in enumerate(statuses)}
    quantities: dict[str, int] = {}
    quantity_rows: list[list] = []
    points = []
    for row in rows:
        s = row["sensor"]
        values = []
        for item in row["values"]:
            q = item["value"].quantity
            if q.code not in quantities:
                quantities[q.code] = len(quantity_rows)
                quantity_rows.append([q.code, q.name, q.unit, q.decimals])
            values.append(
                [
                    quantities[q.code],
                    round(item["value"].value, q.decimals),
                    item["level"].severity,
                    item["level"].label,
                ]
            )
        points.append(
            [
                round(s.lat, 6),
                round(s.lon, 6),
                s.code,
                s.name,
                kind_index.get(s.kind, 0),
                status_index.get(s.status, 0),
                row["level"].severity,
                values,
            ]
        )
    return _json(
        {
            "kinds": [[value, str(label)] for value, label in kinds],
            "statuses": [[value, str(label)] for value, label in statuses],
            "quantities": quantity_rows,
            "levels": [[i, colour, str(label)] for i, (colour, label) in enumerate(levels.SEVERITIES)],
            "url": reverse("sensing:map"),
            "no_data_text": _("No recent values."),
            "points": points,
        },
        public=not selectors.can_read_private(request.user, city),
    )


@require_safe
def sensor_list(request):
    """The map's sensors as a list, for keyboards and screen readers (same filters)."""
    city, form, kind = _filters(request)
    rows = _rows(city, request.user, kind)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = _query(request)
    return render(
        request,
        "sensing/list.html",
        {
            "form": form,
            "page": page,
            "query": query,
            "map_url": reverse("sensing:map") + (f"?{query}" if query else ""),
        },
    )


def _latest_values(city, sensor: Sensor) -> list[dict]:
    """The sensor's latest value of each quantity it measures (none yet: an empty value), in the
    catalogue's order, with its level."""
    cat = catalogue.for_city(city)
    found = {
        quantity_id: (t, v)
        for quantity_id, t, v in Latest.objects.filter(sensor_id=sensor.pk).values_list(
            "quantity_id", "time", "value"
        )
    }
    items = []
    for q in sensor.quantities.all():
        entry = cat.quantities.get(q.code) or cat.quantities_by_id.get(q.pk)
        if entry is None:
            continue
        t, v = found.get(q.pk, (None, None))
        items.append(
            {
                "quantity": entry,
                "time": t,
                "value": v,
                "display": number_format(v, entry.decimals) if v is not None else "",
                "level": levels.level(entry.code, v, sensor.properties),
                "chart_id": f"chart-{entry.code}",
            }
        )
    return items


def _agreement(sensor: Sensor) -> dict | None:
    """The public summary of a privately owned sensor's data-sharing agreement."""
    agreement = sensor.agreement
    if agreement is None:
        return None
    return {
        "title": agreement.title,
        "kind": agreement.get_kind_display(),
        "organisation": agreement.organisation.name,
        "scope": agreement.scope,
        "starts_on": agreement.starts_on,
        "ends_on": agreement.ends_on,
        "in_force": agreement.in_force(),
        "shared_with": [o.name for o in agreement.shared_with.all()],
    }


def _get_sensor(request, code: str) -> Sensor:
    try:
        return selectors.sensor_by_code(city=page_city(request), code=code, viewer=request.user)
    except NotFound:
        raise Http404


@require_safe
def sensor_detail(request, code: str):
    city = page_city(request)
    sensor = _get_sensor(request, code)
    period = request.GET.get("period") or DEFAULT_PERIOD
    if period not in PERIODS:
        period = DEFAULT_PERIOD
    values = _latest_values(city, sensor)
    owner = sensor.owner
    privately_owned = sensor.agreement_id is not None or (
        owner is not None and owner.kind != Organisation.Kind.AGENCY
    )
    return render(
        request,
        "sensing/detail.html",
        {
            "sensor": sensor,
            "values": values,
            "is_camera": sensor.kind == Sensor.Kind.CAMERA,
            "owner": owner,
            "privately_owned": privately_owned,
            "agreement": _agreement(sensor),
            "heading": (sensor.properties or {}).get("heading"),
            "periods": [(key, label) for key, (_span, label) in PERIODS.items()],
            "period": period,
            "series_url": reverse("sensing:series", args=[sensor.code]),
            "communes_url": reverse("api:communes_geojson"),
            "time_zone": city.time_zone,
            "now": timezone.now(),
        },
    )


RESOLUTION_LABELS = {
    ("raw", False): gettext_lazy("each reading"),
    ("raw", True): gettext_lazy("each reading"),
    ("hour", False): gettext_lazy("hourly means"),
    ("hour", True): gettext_lazy("hourly totals"),
    ("day", False): gettext_lazy("daily means"),
    ("day", True): gettext_lazy("daily totals"),
}


@require_safe
def sensor_series(request, code: str):
    """One quantity of one sensor over a period, for its chart: columns of unix times and values (and
    each bucket's minimum and maximum for rollups of averaged quantities). `period` is one of
    24h, 7d, 30d, 1y; the selector picks the resolution from the range."""
    city = page_city(request)
    period = request.GET.get("period") or DEFAULT_PERIOD
    if period not in PERIODS:
        return _json(
            {
                "code": "period_invalid",
                "field": "period",
                "message": _("Choose a period among %(periods)s.") % {"periods": ", ".join(PERIODS)},
            },
            public=False,
            status=400,
        )
    try:
        sensor = selectors.sensor_by_code(city=city, code=code, viewer=request.user)
        end = timezone.now().replace(second=0, microsecond=0) + timedelta(minutes=1)
        series = selectors.series(
            city=city,
            sensor=sensor,
            quantity=request.GET.get("quantity") or "",
            start=end - PERIODS[period][0],
            end=end,
            viewer=request.user,
        )
    except DomainError as exc:
        return _error(exc)
    q = series.quantity
    digits = q.decimals + 1
    with_band = series.resolution != "raw" and not q.summed
    body = {
        "sensor": sensor.code,
        "quantity": q.code,
        "label": q.name,
        "unit": q.unit,
        "decimals": q.decimals,
        "summed": q.summed,
        "period": period,
        "resolution": series.resolution,
        "resolution_label": str(RESOLUTION_LABELS[(series.resolution, q.summed)]),
        "start": series.start.isoformat(),
        "end": series.end.isoformat(),
        "t": [int(p.time.timestamp()) for p in series.points],
        "v": [round(p.value, digits) for p in series.points],
        "min": [round(p.min, digits) for p in series.points] if with_band else None,
        "max": [round(p.max, digits) for p in series.points] if with_band else None,
    }
    return _json(body, public=sensor.is_public)


@require_safe
def sensor_fragment(request, code: str):
    """The control centre's drill-down of one sensor: an HTML fragment (no page around it) with its
    latest values and a chart per quantity, the charts drawn by `dothiSensing.initCharts(root)` once the
    fragment is in the page. Private sensors are 404 to those without sensing.read_private."""
    city = page_city(request)
    sensor = _get_sensor(request, code)
    now = timezone.now()
    response = render(
        request,
        "sensing/_ioc_sensor.html",
        {
            "sensor": sensor,
            "values": _latest_values(city, sensor),
            "is_camera": sensor.kind == Sensor.Kind.CAMERA,
            "silent": selectors.is_silent(
                last_seen_at=sensor.last_seen_at,
                created_at=sensor.created_at,
                expected_interval_seconds=sensor.expected_interval_seconds,
                now=now,
            ),
            "periods": [(key, label) for key, (_span, label) in PERIODS.items()],
            "period": DEFAULT_PERIOD,
            "series_url": reverse("sensing:series", args=[sensor.code]),
            "time_zone": city.time_zone,
            "now": now,
        },
    )
    response["Cache-Control"] = "private, no-store"
    return response
