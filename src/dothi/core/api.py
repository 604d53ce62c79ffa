"""Core API: the cities served, their communes, and point-to-commune lookup."""

from __future__ import annotations

from ninja import Router, Schema

from dothi.core import selectors

router = Router(tags=["core"])


class CityOut(Schema):
    slug: str
    name_vi: str
    name_en: str
    province_code: str
    time_zone: str
    default_language: str
    bbox: list[float] | None


@router.get("/cities", response=list[CityOut], auth=None, summary="Cities served by this deployment")
def list_cities(request):
    return [
        CityOut(
            slug=c.slug, name_vi=c.name_vi, name_en=c.name_en, province_code=c.province_code,
            time_zone=c.time_zone, default_language=c.default_language, bbox=list(c.bbox) if c.bbox else None,
        )
        for c in selectors.active_cities()
    ]


# --- Notifications: a person's own inbox (session sign-in) -------------------------------------

from datetime import date as _date  # noqa: E402 - appended section keeps its imports together

from django.utils.translation import gettext as _  # noqa: E402
from ninja import Field, Query, Status  # noqa: E402
from ninja.security import django_auth  # noqa: E402

from dothi.core import services  # noqa: E402
from dothi.core.errors import InvalidInput  # noqa: E402
from dothi.core.manifests import Period  # noqa: E402
from dothi.core.notifications import channels as notification_channels  # noqa: E402
from dothi.core.permissions import require  # noqa: E402
from dothi.core.ratelimit import limit_citizen_write  # noqa: E402


class NotificationOut(Schema):
    id: int
    topic: str
    title: str
    body: str
    url: str
    created_at: str
    read: bool


class NotificationPage(Schema):
    count: int
    unread: int
    page: int
    page_size: int
    items: list[NotificationOut]


class PageQuery(Schema):
    page: int = Field(1, ge=1, le=10_000)
    page_size: int = Field(20, ge=1, le=100)


def _notification_out(n) -> NotificationOut:
    return NotificationOut(
        id=n.pk, topic=n.topic, title=n.title, body=n.body, url=n.url,
        created_at=n.created_at.isoformat(), read=n.read_at is not None,
    )


@router.get("/notifications", response=NotificationPage, auth=django_auth, summary="My notifications")
def list_notifications(request, q: Query[PageQuery]):
    qs = selectors.notifications_for(request.user, request.city)
    start = (q.page - 1) * q.page_size
    return NotificationPage(
        count=qs.count(),
        unread=selectors.notification_unread_count(request.user, request.city),
        page=q.page,
        page_size=q.page_size,
        items=[_notification_out(n) for n in qs[start : start + q.page_size]],
    )


@router.post("/notifications/read-all", auth=django_auth, summary="Mark all my notifications read")
def read_all_notifications(request):
    return {"marked": services.notification_mark_all_read(user=request.user, city=request.city)}


@router.post(
    "/notifications/{notification_id}/read", response=NotificationOut, auth=django_auth,
    summary="Mark one of my notifications read",
)
def read_notification(request, notification_id: int):
    notification = services.notification_mark_read(user=request.user, notification_id=notification_id)
    return _notification_out(notification)


class PreferencesOut(Schema):
    available: list[str]
    preferences: dict[str, list[str]]


class PreferenceIn(Schema):
    topic: str = "*"
    channels: list[str]


@router.get("/notifications/preferences", response=PreferencesOut, auth=django_auth,
            summary="My notification channels per topic")
def get_notification_preferences(request):
    return PreferencesOut(
        available=notification_channels.names(), preferences=selectors.notification_preferences(request.user)
    )


@router.put("/notifications/preferences", response=PreferencesOut, auth=django_auth,
            summary="Choose my notification channels for a topic")
def put_notification_preferences(request, payload: PreferenceIn):
    limit_citizen_write(request, "core.notifications.preferences")
    services.set_notification_preferences(user=request.user, topic=payload.topic, channels=payload.channels)
    return get_notification_preferences(request)


# --- Feedback ----------------------------------------------------------------------------------


def _request_city(request):
    if request.city is None:
        raise InvalidInput(_("Choose a city first."), code="no_city")
    return request.city


class FeedbackIn(Schema):
    subject_type: str = Field(max_length=60)
    subject_id: str = Field(max_length=64)
    rating: int
    comment: str = ""


class FeedbackOut(Schema):
    id: int
    subject_type: str
    subject_id: str
    rating: int
    comment: str


@router.post("/feedback", response={201: FeedbackOut}, auth=django_auth, summary="Rate a service interaction")
def give_feedback(request, payload: FeedbackIn):
    limit_citizen_write(request, "core.feedback.give")
    feedback = services.feedback_give(
        author=request.user, city=_request_city(request), subject_type=payload.subject_type,
        subject_id=payload.subject_id, rating=payload.rating, comment=payload.comment,
    )
    return Status(201, FeedbackOut(
        id=feedback.pk, subject_type=feedback.subject_type, subject_id=feedback.subject_id,
        rating=feedback.rating, comment=feedback.comment,
    ))


class FeedbackSummaryQuery(Schema):
    subject_type: str = Field(max_length=60)
    start: _date
    end: _date


class FeedbackSummaryOut(Schema):
    count: int
    mean: float | None
    distribution: dict[int, int]


@router.get("/feedback/summary", response=FeedbackSummaryOut, auth=django_auth,
            summary="Ratings on a subject type in a period (staff)")
def feedback_summary(request, q: Query[FeedbackSummaryQuery]):
    city = _request_city(request)
    require(request.user, "core.feedback.view", city)
    try:
        period = Period(q.start, q.end)
    except ValueError:
        raise InvalidInput(_("The period must end after it starts."), field="end")
    return selectors.feedback_summary(city, q.subject_type, period)


# --- Communes: list, boundaries, point lookup (public, scoped to the request's city) ------------

from dothi.core import geo  # noqa: E402
from dothi.core.errors import NotFound  # noqa: E402


def _city_or_404(request):
    city = getattr(request, "city", None)
    if city is None:
        raise NotFound(_("No city is served at this address."))
    return city


class CommuneOut(Schema):
    code: str
    name: str
    kind: str
    centre: list[float] | None = Field(None, description="[lon, lat] of the commune centre")
    area_km2: float | None
    approximate: bool | None = Field(
        description="True: approximate cell; False: official boundary; null: no boundary yet"
    )


class CommunePage(Schema):
    count: int
    page: int
    page_size: int
    items: list[CommuneOut]


class CommunePageQuery(Schema):
    page: int = Field(1, ge=1, le=10_000)
    page_size: int = Field(100, ge=1, le=500)


@router.get("/communes", response=CommunePage, auth=None, summary="The city's communes (paginated)")
def list_communes(request, q: Query[CommunePageQuery]):
    qs = selectors.communes_of_city(_city_or_404(request))
    start = (q.page - 1) * q.page_size
    return CommunePage(
        count=qs.count(), page=q.page, page_size=q.page_size,
        items=[
            CommuneOut(
                code=c.code, name=c.name, kind=c.kind, area_km2=c.area_km2,
                approximate=c.boundary_approximate,
                centre=[c.centre_lon, c.centre_lat] if c.centre_lon is not None else None,
            )
            for c in qs[start : start + q.page_size]
        ],
    )


@router.get("/communes.geojson", auth=None, summary="The city's commune boundaries (GeoJSON)")
def communes_geojson(request):
    city = _city_or_404(request)
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": area.commune_id,
                "geometry": area.geometry,
                "properties": {
                    "code": area.commune_id, "name": area.commune.name, "kind": area.commune.kind,
                    "approximate": area.approximate, "source": area.source,
                },
            }
            for area in selectors.commune_areas(city)
        ],
    }


class LocateOut(Schema):
    code: str
    name: str
    kind: str


@router.get(
    "/locate", response=LocateOut, auth=None,
    summary="The commune containing a point (422 outside_city when the point is outside the city)",
)
def locate(request, lat: float, lon: float):
    commune = geo.locate(_city_or_404(request), lon=lon, lat=lat)
    return LocateOut(code=commune.code, name=commune.name, kind=commune.kind)
