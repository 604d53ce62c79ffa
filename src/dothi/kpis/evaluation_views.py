"""Pages of the evaluation: the dashboard, an indicator's page, the council's print-ready report (and its
CSV/XLSX), issued evaluation reports, return on investment, and the public page of published indicators.

Thin: parse the query or form, call one selector or service, render. Staff pages need `kpis.view`; the
report, issuing and issued reports need `kpis.approve` (the council); benefits are edited with
`kpis.manage`. What a service refuses is shown on the page with its 4xx status; nothing is stored.
Charts are SVG drawn on the server (charts.py): no script, so the printed report has them too.

The indicator page draws each target on the indicator (baseline, target line, trend to the deadline)
on the yearly series; on the quarterly or monthly series only the target line is drawn, since the
baseline and the deadline are years.
"""

from __future__ import annotations

import functools
from datetime import date
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from dothi.core.cities import page_city
from dothi.core.errors import DomainError, InvalidInput
from dothi.core.permissions import can
from dothi.kpis import catalogue, charts, periods, selectors, services
from dothi.kpis import evaluation as ev
from dothi.kpis import exports as kexports
from dothi.kpis import roi as roi_calc
from dothi.kpis.models import Benefit, Evaluation, Grain

SERIES_LENGTH = {Grain.MONTH: 24, Grain.QUARTER: 12, Grain.YEAR: 12}
PUBLIC_MIN_SAMPLE = 5


def _status(exc: DomainError) -> int:
    return exc.status if 400 <= exc.status < 500 else 400


def page(operation: str):
    """A staff page: signed in (else the staff sign-in page), allowed `operation` in the city (else
    403); the view runs in the city's time zone and gets the city."""

    def decorate(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path(), reverse("identity:staff_signin"))
            city = page_city(request)
            if not can(request.user, operation, city):
                raise PermissionDenied(_("You do not have permission to do this."))
            with timezone.override(ZoneInfo(city.time_zone or settings.TIME_ZONE)):
                return view(request, city, *args, **kwargs)

        return wrapped

    return decorate


def _today(city) -> date:
    return timezone.localdate(timezone=ZoneInfo(city.time_zone or settings.TIME_ZONE))


def _year(request, city) -> int:
    """?year=YYYY (default: this year); InvalidInput when it is not a year."""
    raw = (request.GET.get("year") or "").strip()
    if not raw:
        return _today(city).year
    if not raw.isdigit() or not periods.YEAR_MIN <= int(raw) <= periods.YEAR_MAX:
        raise InvalidInput(
            _("The year must be between %(min)d and %(max)d.") % {"min": periods.YEAR_MIN,
                                                                   "max": periods.YEAR_MAX},
            field="year",
        )
    return int(raw)


def _rate(request, city) -> float:
    return roi_calc.parse_rate(request.GET.get("rate"), city=city)


def _common(request, city, nav: str) -> dict:
    return {
        "nav": nav,
        "may_approve": can(request.user, "kpis.approve", city),
        "may_manage": can(request.user, "kpis.manage", city),
    }


# --- Charts of one target ----------------------------------------------------------------------------------


def target_chart(city, row: ev.TargetRow, *, compact: bool = False, by_year: dict | None = None) -> str:
    """The yearly series of the target's indicator from its baseline year, with the baseline, the target
    line and the trend to the deadline (dotted). `by_year`: the values to draw (a frozen report's),
    else the live ones."""
    by_year = ev.yearly_values(city, row) if by_year is None else {int(y): v for y, v in by_year.items()}
    last = max([*by_year, row.baseline_year])
    labels = [str(y) for y in range(row.baseline_year + 1, last + 1)]
    series = [by_year.get(int(y)) for y in labels]
    trend = None
    if row.projected is not None and row.deadline_year > last:
        trend = [(str(row.deadline_year), row.projected)]
    return charts.series_chart(
        labels=labels, values=series, title=row.label, unit=row.unit, target=row.target_value,
        target_label=_("Target"), baseline=(str(row.baseline_year), row.baseline_value), trend=trend,
        compact=compact,
    )


def _dimension_chart(result: ev.Evaluation) -> str:
    rows = [r for r in result.by_dimension if r.score is not None]
    return charts.series_chart(
        labels=[r.name for r in rows], values=[r.score for r in rows], kind="column", unit="%",
        title=_("Score by dimension"), height=200,
    )


# --- Dashboard ------------------------------------------------------------------------------------------


@require_safe
@page("kpis.view")
def dashboard(request, city):
    ctx = _common(request, city, "dashboard")
    status = 200
    try:
        year = _year(request, city)
    except InvalidInput as exc:
        year, status = _today(city).year, _status(exc)
        ctx["error"] = exc.message
    result = ev.evaluate(city, year)
    ctx.update({
        "year": year, "years": ev.years(city, _today(city)), "result": result,
        "dimension_chart": _dimension_chart(result) if not result.is_empty else "",
    })
    return render(request, "kpis/dashboard.html", ctx, status=status)


# --- An indicator -----------------------------------------------------------------------------------------


@require_safe
@page("kpis.view")
def indicator(request, city, code):
    ind = selectors.indicator_by_code(city, code)
    if ind is None or not ind.is_active:
        raise Http404
    ctx = _common(request, city, "dashboard")
    status = 200
    grain_raw = request.GET.get("grain") or Grain.YEAR
    if grain_raw not in Grain.values:
        ctx["error"] = _("Unknown period kind: use month, quarter or year.")
        grain_raw, status = Grain.YEAR, 400
    grain = Grain(grain_raw)
    today = _today(city)
    since = periods.shift(grain, periods.start_of(grain, today), -(SERIES_LENGTH[grain] - 1)).start
    series = selectors.series(city, ind, grain, since=since)
    labels = [periods.label(grain, v.period_start) for v in series]
    # Targets on this indicator, evaluated for this year.
    rows = [r for r in ev.evaluate(city, today.year).targets if r.found and r.indicator_code == ind.code]
    target_charts = [(r, target_chart(city, r)) for r in rows] if grain == Grain.YEAR else []
    main_chart = charts.series_chart(
        labels=labels, values=[v.value for v in series], title=ind.name, unit=ind.unit,
        target=rows[0].target_value if rows and grain != Grain.YEAR else None,
        target_label=_("Target") if rows else "",
    )
    latest = next((v for v in reversed(series) if v.value is not None), None)
    wards = selectors.ward_values(city, ind, grain, latest.period_start) if ind.per_ward and latest else []
    manual = list(selectors.manual_values(city).filter(indicator=ind)[:50])
    ctx.update({
        "indicator": ind, "grain": grain, "grains": Grain.choices,
        "series": [(lab, v) for lab, v in zip(reversed(labels), reversed(series), strict=True)],
        "main_chart": main_chart, "target_rows": rows, "target_charts": target_charts, "latest": latest,
        "latest_label": periods.label(grain, latest.period_start) if latest else "",
        "wards": wards, "manual": manual,
        "dimension_label": catalogue.label(ind.dimension),
        "sub_dimension_label": catalogue.label(ind.sub_dimension),
        "category_label": catalogue.label(ind.category),
    })
    return render(request, "kpis/indicator.html", ctx, status=status)


# --- The council's report -------------------------------------------------------------------------------


def _report_context(city, result: ev.Evaluation, roi_summary: dict, frozen_series: list | None = None
                    ) -> dict:
    if frozen_series is not None:  # an issued report: the series as they were
        frozen_series = list(frozen_series) + [{}] * (len(result.targets) - len(frozen_series))
        drawn = [(r, target_chart(city, r, by_year=frozen_series[i])) for i, r in enumerate(result.targets)]
    else:
        drawn = [(r, target_chart(city, r)) for r in result.targets]
    return {
        "result": result,
        "charts": drawn,
        "dimension_chart": _dimension_chart(result) if not result.is_empty else "",
        "roi": roi_summary,
        "lights": [(key, ev.LIGHT_LABELS[key]) for key in ev.LIGHTS],
        "thresholds": ev.POINT_THRESHOLDS,
    }


def _live_roi(city, rate: float) -> dict:
    projects = roi_calc.portfolio(city, rate)
    return {"rate": rate, "projects": projects, "totals": roi_calc.totals(projects)}


@require_safe
@page("kpis.approve")
def report(request, city):
    try:
        year = _year(request, city)
        rate = _rate(request, city)
    except InvalidInput as exc:
        return render(request, "kpis/report.html", {"error": exc.message, "city": city}, status=_status(exc))
    fmt = request.GET.get("format")
    if fmt:
        return report_export(request, fmt=fmt)
    result = ev.evaluate(city, year)
    ctx = _report_context(city, result, _live_roi(city, rate))
    ctx.update({"year": year, "city": city, "issued": None, "may_approve": True,
                "generated_at": timezone.localtime()})
    return render(request, "kpis/report.html", ctx)


@require_safe
@page("kpis.approve")
def report_export(request, city, fmt: str):
    if fmt not in ("csv", "xlsx"):
        raise Http404
    try:
        year = _year(request, city)
    except InvalidInput as exc:
        return HttpResponse(exc.message, status=_status(exc), content_type="text/plain; charset=utf-8")
    result = ev.evaluate(city, year)
    name = f"danh-gia-{city.slug}-{year}"
    if fmt == "csv":
        response = HttpResponse(kexports.evaluation_csv(result), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(
            kexports.evaluation_xlsx(result),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


@require_POST
@page("kpis.approve")
def issue(request, city):
    try:
        row = services.issue_evaluation(
            actor=request.user, city=city, year=request.POST.get("year", ""),
            title=request.POST.get("title", ""), title_en=request.POST.get("title_en", ""),
            rate=request.POST.get("rate") or None,
        )
    except DomainError as exc:
        ctx = _common(request, city, "evaluations")
        ctx.update({"evaluations": _issued(city), "error": exc.message, "error_field": exc.field,
                    "form": request.POST, "year": _today(city).year})
        return render(request, "kpis/evaluations.html", ctx, status=_status(exc))
    messages.success(request, _("The evaluation report has been issued."))
    return redirect("kpis:evaluation", pk=row.pk)


def _issued(city):
    return list(Evaluation.objects.for_city(city).select_related("issued_by").order_by("-issued_at", "-pk"))


@require_safe
@page("kpis.approve")
def evaluations(request, city):
    ctx = _common(request, city, "evaluations")
    ctx.update({"evaluations": _issued(city), "year": _today(city).year - 1, "form": {}})
    return render(request, "kpis/evaluations.html", ctx)


@require_safe
@page("kpis.approve")
def evaluation(request, city, pk: int):
    row = Evaluation.objects.for_city(city).select_related("issued_by").filter(pk=pk).first()
    if row is None:
        raise Http404
    snap = row.snapshot or {}
    result = ev.Evaluation.from_dict(snap.get("evaluation") or {"year": row.period_start.year})
    frozen_roi = snap.get("roi") or {"rate": None, "projects": [], "totals": {}}
    frozen_roi = {
        **frozen_roi,
        "projects": [_FrozenProject(p) for p in frozen_roi.get("projects", [])],
    }
    ctx = _report_context(city, result, frozen_roi, frozen_series=snap.get("series") or [])
    ctx.update({"year": result.year, "city": city, "issued": row, "may_approve": True,
                "generated_at": timezone.localtime(row.issued_at)})
    return render(request, "kpis/evaluation.html", ctx)


class _FrozenProject(dict):
    """A project's frozen ROI figures, read like a live `roi.ProjectRoi` by the templates."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def title(self) -> str:
        from dothi.core.models import localised

        return localised(self.get("title_vi", ""), self.get("title_en", ""))

    @property
    def irr_percent(self):
        return None if self.get("irr") is None else 100.0 * self["irr"]


# --- Return on investment -------------------------------------------------------------------------------


@require_safe
@page("kpis.view")
def roi(request, city):
    ctx = _common(request, city, "roi")
    status = 200
    try:
        rate = _rate(request, city)
    except InvalidInput as exc:
        rate, status, ctx["error"] = roi_calc.default_rate(city), _status(exc), exc.message
    projects = roi_calc.portfolio(city, rate)
    ctx.update({"rate": rate, "default_rate": roi_calc.default_rate(city), "projects": projects,
                "totals": roi_calc.totals(projects)})
    return render(request, "kpis/roi.html", ctx, status=status)


def _benefit_form(post) -> dict:
    return {k: post.get(k, "") for k in ("year", "amount_vnd", "kind", "description_vi", "description_en",
                                         "indicator_code")}


@require_http_methods(["GET", "HEAD", "POST"])
@page("kpis.view")
def roi_project(request, city, code: str):
    ctx = _common(request, city, "roi")
    status = 200
    if request.method == "POST":
        if not ctx["may_manage"]:
            raise PermissionDenied(_("You do not have permission to do this."))
        try:
            if request.POST.get("action") == "delete":
                services.delete_benefit(actor=request.user, city=city, benefit=request.POST.get("benefit"))
                messages.success(request, _("The benefit has been deleted."))
            else:
                services.save_benefit(
                    actor=request.user, city=city, project_code=code, **_benefit_form(request.POST),
                    evidence=request.FILES.get("evidence"),
                )
                messages.success(request, _("The benefit has been recorded."))
            return redirect(f"{reverse('kpis:roi_project', args=[code])}?rate={request.POST.get('rate', '')}")
        except DomainError as exc:
            ctx.update({"error": exc.message, "error_field": exc.field, "form": _benefit_form(request.POST)})
            status = _status(exc)
    try:
        rate = roi_calc.parse_rate(request.GET.get("rate") or request.POST.get("rate"), city=city)
    except InvalidInput as exc:
        rate, status = roi_calc.default_rate(city), _status(exc)
        ctx["error"] = exc.message
    try:
        figures = roi_calc.project_roi(city, code, rate)
    except DomainError:
        raise Http404 from None
    ctx.setdefault("form", {"year": str(_today(city).year), "kind": Benefit.Kind.SAVING})
    ctx.update({
        "project": figures, "rate": rate,
        "benefits": list(Benefit.objects.for_city(city).filter(project_code=code).order_by("year", "pk")),
        "kinds": Benefit.Kind.choices,
        "sensitivity_rows": [
            (factor, values) for factor, values in zip(figures.sensitivity.get("factors", []),
                                                       figures.sensitivity.get("rows", []), strict=False)
        ],
        "sensitivity_rates": [100 * r for r in figures.sensitivity.get("rates", [])],
        "chart": charts.series_chart(
            labels=[str(f.year) for f in figures.flows], values=[f.net for f in figures.flows], kind="column",
            unit="VND", title=_("Net flow per year (benefits − costs)"), height=220,
        ) if figures.flows else "",
    })
    return render(request, "kpis/roi_project.html", ctx, status=status)


# --- The public page ---------------------------------------------------------------------------------------


@require_safe
def public(request):
    city = page_city(request)
    inds = list(selectors.published(city))
    latest = selectors.latest_values(city, inds)
    items = []
    for ind in inds:
        value = latest.get(ind.pk)
        measured = ind
        if value is None:  # a U4SSC row measured by one platform indicator shows that one's figures
            parts = [i for i in selectors.indicator_by_standard_code(city, ind.code) if i.pk != ind.pk]
            if len(parts) == 1:
                measured, value = parts[0], selectors.latest_values(city, parts).get(parts[0].pk)
        grain = Grain(value.grain) if value else Grain.YEAR
        series = selectors.series(city, measured, grain)[-SERIES_LENGTH[grain]:]
        chart = charts.series_chart(
            labels=[periods.label(grain, v.period_start) for v in series], values=[v.value for v in series],
            title=ind.name, unit=ind.unit, width=320, height=120, compact=True,
        ) if len(series) > 1 else ""
        items.append({
            "indicator": ind, "value": value, "number": value.value if value else None,
            "period": periods.label(value.grain, value.period_start) if value else "",
            "chart": chart, "dimension": catalogue.label(ind.dimension),
        })
    return render(request, "kpis/public.html", {"items": items, "city": city})
