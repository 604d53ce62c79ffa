"""Sensing API under /api/v1/sensing/: the bulk observation endpoint (an ingestion key) and public reads
(quantities, sensors with their latest values, a sensor's series, aggregates per commune).

The bulk endpoint parses its body with orjson, not a schema per item, and answers per item: 200 when
every item was stored (or was already stored), 207 with the rejected items' index, code and reason
otherwise; 400 for a body that is not {"observations": [...]}, 401 without a valid key, 413 past
50,000 items or 16 MB. A gzip body (`Content-Encoding: gzip`) is accepted. Standard clients use
NGSI-LD at /ngsi-ld/v1/ or MQTT instead.
"""

from __future__ import annotations

import gzip
import zlib
from datetime import date, datetime

import orjson
from django.http import HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from dothi.core.errors import DomainError, NotFound
from dothi.sensing import selectors
from dothi.sensing.ingestion import ingest
from dothi.sensing.keys import IngestKeyAuth

router = Router(tags=["sensing"])

MAX_ITEMS = 50_000
MAX_BODY_BYTES = 16 * 1024 * 1024


class Error(Schema):
    code: str
    message: str
    field: str | None = None


class TooLarge(DomainError):
    status = 413
    code = "too_large"


class BadBody(DomainError):
    status = 400
    code = "invalid_body"


def _city(request):
    city = getattr(request, "city", None)
    if city is None:
        raise NotFound(_("No city is served at this address."))
    return city


# --- Bulk ingestion -------------------------------------------------------------------------------------


class RejectedOut(Schema):
    index: int
    code: str
    message: str


class IngestOut(Schema):
    accepted: int
    duplicates: int
    rejected: int
    errors: list[RejectedOut]


def _read_body(request) -> bytes:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY_BYTES:
        raise TooLarge(_("The request is too large: at most %(n)s MB.") % {"n": MAX_BODY_BYTES // 2**20})
    # Not request.body: DATA_UPLOAD_MAX_MEMORY_SIZE is sized for forms, not for bulk data.
    body = request.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        raise TooLarge(_("The request is too large: at most %(n)s MB.") % {"n": MAX_BODY_BYTES // 2**20})
    if request.headers.get("Content-Encoding", "").lower() == "gzip":
        try:
            inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            body = inflater.decompress(body, MAX_BODY_BYTES * 8)
            if inflater.unconsumed_tail:
                raise TooLarge(
                    _("The request is too large: at most %(n)s MB.") % {"n": MAX_BODY_BYTES * 8 // 2**20}
                )
        except (zlib.error, gzip.BadGzipFile):
            raise BadBody(_("The body is not valid gzip."))
    return body


@router.post(
    "/observations",
    auth=IngestKeyAuth(),
    response={200: IngestOut, 207: IngestOut, 400: Error, 401: Error, 413: Error},
    summary="Send observations in bulk (an ingestion key)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["observations"],
                        "properties": {
                            "observations": {
                                "type": "array",
                                "maxItems": MAX_ITEMS,
                                "items": {
                                    "type": "object",
                                    "required": ["sensor", "quantity", "time", "value"],
                                    "properties": {
                                        "sensor": {"type": "string", "example": "DN-AQ-001"},
                                        "quantity": {"type": "string", "example": "pm25"},
                                        "time": {"type": "string", "format": "date-time"},
                                        "value": {"type": "number", "example": 12.3},
                                    },
                                },
                            }
                        },
                    }
                }
            },
        }
    },
)
def post_observations(request):
    """Store observations: {"observations": [{"sensor", "quantity", "time", "value"}, …]}. Re-sending
    an observation changes nothing; bad items are listed with their reason and never stored."""
    credentials = request.auth
    body = _read_body(request)
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise BadBody(_("The request body is not valid JSON."))
    items = data.get("observations") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise BadBody(_('The body must be an object with a list of "observations".'), field="observations")
    if len(items) > MAX_ITEMS:
        raise TooLarge(
            _("At most %(n)s observations per request.") % {"n": f"{MAX_ITEMS:,}"},
            code="too_many",
            field="observations",
        )
    result = ingest(city=credentials.city, source=credentials.source, items=items)
    payload = {
        "accepted": result.accepted,
        "duplicates": result.duplicates,
        "rejected": len(result.rejected),
        "errors": [{"index": r.index, "code": r.code, "message": r.reason} for r in result.rejected],
    }
    return HttpResponse(
        orjson.dumps(payload), status=207 if result.rejected else 200, content_type="application/json"
    )


# --- Public reads ---------------------------------------------------------------------------------------


class QuantityOut(Schema):
    code: str
    name: str
    unit: str
    min_value: float
    max_value: float
    summed: bool
    decimals: int


@router.get("/quantities", response=list[QuantityOut], auth=None, summary="The quantities sensors measure")
def list_quantities(request):
    return [
        QuantityOut(
            code=q.code,
            name=q.name,
            unit=q.unit,
            min_value=q.min_value,
            max_value=q.max_value,
            summed=q.summed,
            decimals=q.decimals,
        )
        for q in selectors.quantities(city=_city(request))
    ]


class ValueOut(Schema):
    quantity: str
    unit: str
    time: datetime
    value: float


class SensorOut(Schema):
    code: str
    name: str
    kind: str
    status: str
    lat: float
    lon: float
    commune: str | None
    commune_name: str
    last_seen_at: datetime | None
    latest: list[ValueOut]


class SensorQuery(Schema):
    kind: str | None = Field(None, max_length=10)


def _sensor_out(s: selectors.SensorLatest) -> SensorOut:
    return SensorOut(
        code=s.code,
        name=s.name,
        kind=s.kind,
        status=s.status,
        lat=s.lat,
        lon=s.lon,
        commune=s.commune_code,
        commune_name=s.commune_name,
        last_seen_at=s.last_seen_at,
        latest=[
            ValueOut(quantity=v.quantity.code, unit=v.quantity.unit, time=v.time, value=v.value)
            for v in s.values
        ],
    )


@router.get("/sensors", response=list[SensorOut], auth=None, summary="Sensors with their latest values")
def list_sensors(request, q: Query[SensorQuery]):
    found = selectors.latest(city=_city(request), viewer=request.user, kind=q.kind)
    return [_sensor_out(s) for s in found]


@router.get("/sensors/{code}", response={200: SensorOut, 404: Error}, auth=None, summary="One sensor")
def get_sensor(request, code: str):
    city = _city(request)
    sensor = selectors.sensor_by_code(city=city, code=code, viewer=request.user)
    found = selectors.latest(city=city, viewer=request.user, sensor_codes=[sensor.code], include_retired=True)
    if not found:
        raise NotFound(_("No such sensor."))
    return _sensor_out(found[0])


class SeriesQuery(Schema):
    quantity: str = Field(max_length=40)
    start: datetime
    end: datetime
    resolution: str = Field("auto", pattern="^(auto|raw|hour|day)$")


class PointOut(Schema):
    time: datetime
    value: float
    min: float
    max: float
    count: int


class SeriesOut(Schema):
    sensor: str
    quantity: str
    unit: str
    resolution: str
    points: list[PointOut]


@router.get(
    "/sensors/{code}/series",
    response={200: SeriesOut, 404: Error, 422: Error},
    auth=None,
    summary="A sensor's values over time (raw, hourly or daily by the range's length)",
)
def get_series(request, code: str, q: Query[SeriesQuery]):
    found = selectors.series(
        city=_city(request),
        sensor=code,
        quantity=q.quantity,
        start=q.start,
        end=q.end,
        resolution=q.resolution,
        viewer=request.user,
    )
    return SeriesOut(
        sensor=found.sensor_code,
        quantity=found.quantity.code,
        unit=found.quantity.unit,
        resolution=found.resolution,
        points=[
            PointOut(time=p.time, value=p.value, min=p.min, max=p.max, count=p.count) for p in found.points
        ],
    )


class AggregateQuery(Schema):
    quantity: str = Field(max_length=40)
    start: date
    end: date


class AggregateOut(Schema):
    commune: str | None
    commune_name: str
    sensors: int
    count: int
    mean: float | None
    min: float | None
    max: float | None


@router.get(
    "/aggregates",
    response={200: list[AggregateOut], 422: Error},
    auth=None,
    summary="Per commune: count, mean, minimum and maximum of a quantity over local days [start, end)",
)
def get_aggregates(request, q: Query[AggregateQuery]):
    rows = selectors.aggregates(
        city=_city(request), quantity=q.quantity, start=q.start, end=q.end, viewer=request.user
    )
    return [
        AggregateOut(
            commune=a.commune_code,
            commune_name=a.commune_name,
            sensors=a.sensors,
            count=a.count,
            mean=a.mean,
            min=a.min,
            max=a.max,
        )
        for a in rows
    ]
