"""The KPI API under /api/v1/kpis/.

- `GET /indicators` (paginated; filters dimension, source, automatic, published, q): staff of the city
  (`kpis.view`) see the whole catalogue, everyone else the indicators the city publishes.
- `GET /indicators/{code}` (or `GET /indicator?code=`): one indicator with its latest value per period
  kind. Codes contain spaces and colons ("EC: ICT: D: 1A"): URL-encode them, or pass them as `?code=`.
- `GET /values?code=&grain=&since=&until=&commune=`: effective values (approved manual, else automatic)
  with their inputs; staff see every indicator and ward; everyone else only published indicators at
  city level. `since`/`until` are period codes (2026, 2026-Q3, 2026-07) or dates.
- `POST /compute` (council, `kpis.compute`): `{"period": "2026-Q3", "wards": true, "codes": [...]}`.
- `POST /manual` (staff, `kpis.enter`): `{"code", "period", "value", "commune", "source", "note"}`;
  the value awaits the council. Evidence files are uploaded on the manual-values page.
- `POST /manual/{id}/decision` (council, `kpis.approve`): `{"approve": true, "note": ""}`.

Sessions and CSRF as in the other APIs. Errors are `{"code", "message", "field"}` in the user's
language (Vietnamese by default); bad input stores nothing.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.paginator import Paginator
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.security import django_auth

from dothi.core.cities import request_city
from dothi.core.errors import InvalidInput, NotFound
from dothi.core.models import Commune
from dothi.core.permissions import can, require
from dothi.kpis import catalogue, periods, selectors, services
from dothi.kpis.models import Grain, Indicator, Value

router = Router(tags=["kpis"])
VIEW = "kpis.view"
PAGE_SIZE = 50


class Error(Schema):
    code: str
    message: str
    field: str | None = None


ERRORS: dict[int | str, Any] = {400: Error, 401: Error, 403: Error, 404: Error, 409: Error, 422: Error}


def _user(request):
    return getattr(request, "auth", None) or request.user


def _staff(request, city) -> bool:
    user = _user(request)
    return bool(getattr(user, "is_authenticated", False)) and can(user, VIEW, city)


class IndicatorOut(Schema):
    code: str
    name: str
    name_vi: str
    name_en: str
    source: str
    kind: str
    dimension: str
    dimension_label: str
    sub_dimension: str
    category: str
    unit: str
    higher_is_better: bool
    method: str
    iso_code: str
    standard_code: str
    component: str
    automatic: bool
    per_ward: bool
    published: bool


class ValueOut(Schema):
    code: str
    grain: str
    period: str = Field(description="The period's code: 2026, 2026-Q3, 2026-07")
    period_label: str
    period_start: date
    period_end: date = Field(description="Exclusive")
    commune: str | None
    value: float | None = Field(description="None: missing (see note)")
    numerator: float | None
    denominator: float | None
    sample_size: int
    note: str
    method: str
    source: str
    computed_at: str


class IndicatorPage(Schema):
    count: int
    page: int
    page_size: int
    num_pages: int
    results: list[IndicatorOut]


class IndicatorDetail(IndicatorOut):
    latest: dict[str, ValueOut | None]


def _indicator_out(ind: Indicator, published: set[int]) -> dict[str, Any]:
    return {
        "code": ind.code, "name": ind.name, "name_vi": ind.name_vi, "name_en": ind.name_en,
        "source": ind.source, "kind": ind.kind, "dimension": ind.dimension,
        "dimension_label": catalogue.label(ind.dimension), "sub_dimension": ind.sub_dimension,
        "category": ind.category, "unit": ind.unit, "higher_is_better": ind.higher_is_better,
        "method": ind.method, "iso_code": ind.iso_code, "standard_code": ind.standard_code,
        "component": ind.component, "automatic": ind.is_automatic, "per_ward": ind.per_ward,
        "published": ind.pk in published,
    }


def _value_out(v: Value) -> dict[str, Any]:
    return {
        "code": v.indicator.code, "grain": v.grain, "period": periods.code(v.grain, v.period_start),
        "period_label": periods.label(v.grain, v.period_start), "period_start": v.period_start,
        "period_end": v.period_end, "commune": v.commune_id, "value": v.value, "numerator": v.numerator,
        "denominator": v.denominator, "sample_size": v.sample_size, "note": v.note, "method": v.method,
        "source": v.source, "computed_at": v.computed_at.isoformat(),
    }


class IndicatorQuery(Schema):
    dimension: str | None = Field(None, max_length=60)
    source: str | None = Field(None, max_length=10)
    automatic: bool | None = None
    published: bool | None = None
    q: str | None = Field(None, max_length=100)
    page: int = Field(1, ge=1, le=10_000)
    page_size: int = Field(PAGE_SIZE, ge=1, le=200)


@router.get("/indicators", response={200: IndicatorPage, **ERRORS}, auth=None,
            summary="The indicator catalogue (staff: all; everyone else: what the city publishes)")
def list_indicators(request, q: Query[IndicatorQuery]):
    city = request_city(request)
    if q.source and q.source not in Indicator.Source.values:
        raise InvalidInput(_("Unknown source: use u4ssc, platform or city."), field="source")
    published = True if not _staff(request, city) else q.published
    qs = selectors.indicators(city, dimension=q.dimension, source=q.source, automatic=q.automatic,
                              published=published, q=q.q)
    paginator = Paginator(qs, q.page_size)
    rows = paginator.page(q.page).object_list if q.page <= paginator.num_pages else []
    pub = selectors.published_ids(city)
    return {"count": paginator.count, "page": q.page, "page_size": q.page_size,
            "num_pages": paginator.num_pages, "results": [_indicator_out(i, pub) for i in rows]}


def _visible_indicator(request, city, code: str) -> Indicator:
    ind = selectors.indicator_by_code(city, (code or "")[:80])
    if ind is None or not ind.is_active:
        raise NotFound(_("There is no such indicator."))
    if not _staff(request, city) and ind.pk not in selectors.published_ids(city):
        raise NotFound(_("There is no such indicator."))
    return ind


def _detail(request, code: str) -> dict[str, Any]:
    city = request_city(request)
    ind = _visible_indicator(request, city, code)
    out = _indicator_out(ind, selectors.published_ids(city))
    out["latest"] = {}
    for grain in (Grain.YEAR, Grain.QUARTER, Grain.MONTH):
        v = selectors.latest_value(city, ind, grain)
        out["latest"][grain.value] = _value_out(v) if v else None
    return out


class CodeQuery(Schema):
    code: str = Field(..., max_length=80)


@router.get("/indicator", response={200: IndicatorDetail, **ERRORS}, auth=None,
            summary="One indicator by ?code= with its latest values (year, quarter, month)")
def get_indicator_by_query(request, q: Query[CodeQuery]):
    return _detail(request, q.code)


@router.get("/indicators/{path:code}", response={200: IndicatorDetail, **ERRORS}, auth=None,
            summary="One indicator (URL-encoded code) with its latest values (year, quarter, month)")
def get_indicator(request, code: str):
    return _detail(request, code)


class ValueQuery(Schema):
    code: str = Field(..., max_length=80)
    grain: Grain | None = None
    since: str | None = Field(None, max_length=10, description="A period code or a date (inclusive)")
    until: str | None = Field(None, max_length=10, description="A period code or a date (inclusive)")
    commune: str | None = Field(None, max_length=5, description="A commune code; 'all': every ward")


def _bound(text: str | None, field: str) -> date | None:
    if not text:
        return None
    day = parse_date(text) if len(text) == 10 else None
    if day is not None:
        return day
    return periods.parse(text, field=field)[1].start


@router.get("/values", response={200: list[ValueOut], **ERRORS}, auth=None,
            summary="Effective values of an indicator with their inputs (staff; the public: published, "
                    "city level)")
def list_values(request, q: Query[ValueQuery]):
    city = request_city(request)
    ind = _visible_indicator(request, city, q.code)
    since, until = _bound(q.since, "since"), _bound(q.until, "until")
    commune = None
    wards = False
    if q.commune:
        if not _staff(request, city):
            require(_user(request), VIEW, city)
        if q.commune == "all":
            wards = True
        else:
            commune = Commune.objects.filter(pk=q.commune, province_id=city.province_code).first()
            if commune is None:
                raise InvalidInput(_("This commune is not in the city."), field="commune")
    rows = selectors.effective_values(city, indicator=ind, grain=q.grain, since=since, until=until,
                                      commune=commune, wards=wards)
    return [_value_out(v) for v in rows]


class ComputeIn(Schema):
    period: str = Field(..., max_length=10)
    wards: bool = False
    codes: list[str] | None = None


class ComputeOut(Schema):
    period: str
    computed: int
    missing: int
    failed: int
    seconds: float


@router.post("/compute", response={200: ComputeOut, **ERRORS}, auth=django_auth,
             summary="Recompute the automatic indicators for a period (council)")
def post_compute(request, payload: ComputeIn):
    city = request_city(request)
    require(request.auth, "kpis.compute", city)
    grain, p = periods.parse(payload.period)
    r = services.compute(actor=request.auth, city=city, grain=grain, start=p.start, wards=payload.wards,
                         codes=payload.codes)
    return {"period": periods.code(grain, p.start), "computed": r.computed, "missing": r.missing,
            "failed": r.failed, "seconds": r.seconds}


class ManualIn(Schema):
    code: str = Field(..., max_length=80)
    period: str = Field(..., max_length=10)
    value: float | str
    commune: str | None = Field(None, max_length=5)
    source: str = Field("", max_length=300)
    note: str = Field("", max_length=300)


class ManualOut(ValueOut):
    id: int
    status: str
    decision_note: str


def _manual_out(v: Value) -> dict[str, Any]:
    return {**_value_out(v), "id": v.pk, "status": v.status, "decision_note": v.decision_note}


@router.post("/manual", response={201: ManualOut, **ERRORS}, auth=django_auth,
             summary="Enter a manual value with its source; it awaits the council's approval (staff)")
def post_manual(request, payload: ManualIn):
    city = request_city(request)
    require(request.auth, "kpis.enter", city)
    ind = selectors.indicator_by_code(city, payload.code)
    if ind is None or not ind.is_active:
        raise InvalidInput(_("There is no such indicator."), field="code", code="unknown_indicator")
    row = services.enter_manual(actor=request.auth, city=city, indicator=ind, period=payload.period,
                                value=payload.value, commune=payload.commune or None, source=payload.source,
                                note=payload.note)
    return Status(201, _manual_out(row))


class DecisionIn(Schema):
    approve: bool
    note: str = Field("", max_length=500)


@router.post("/manual/{value_id}/decision", response={200: ManualOut, **ERRORS}, auth=django_auth,
             summary="Approve or reject a pending manual value (council; not the person who entered it)")
def post_decision(request, value_id: int, payload: DecisionIn):
    city = request_city(request)
    require(request.auth, "kpis.approve", city)
    row = services.decide_manual(actor=request.auth, city=city, value=value_id, approve=payload.approve,
                                 note=payload.note)
    return _manual_out(row)
