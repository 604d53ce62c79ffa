"""Pages of the indicator catalogue, manual values and publication (staff area), and the values export.

Thin: a form in, one service or selector, a template out. Every staff member of the city reads
(`kpis.view`) and enters manual values (`kpis.enter`); the council approves them and publishes
indicators (`kpis.approve`). The services check it all again; what they refuse is shown on the form
(4xx, nothing stored).
"""

from __future__ import annotations

import functools
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from dothi.core.cities import page_city
from dothi.core.errors import DomainError, InvalidInput
from dothi.core.permissions import can
from dothi.kpis import catalogue as cat
from dothi.kpis import exports, forms, periods, selectors, services

PAGE_SIZE = 25


def _status(exc: DomainError) -> int:
    return exc.status if 400 <= exc.status < 500 else 400


def staff_page(view):
    """Signed in (else the staff sign-in page) with `kpis.view` in the city (else 403); runs in the
    city's time zone and gets the city."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("identity:staff_signin"))
        city = page_city(request)
        if not can(request.user, "kpis.view", city):
            raise PermissionDenied(_("You do not have permission to do this."))
        with timezone.override(ZoneInfo(city.time_zone or settings.TIME_ZONE)):
            return view(request, city, *args, **kwargs)

    return wrapped


def _context(request, city, nav: str, **extra) -> dict:
    return {
        "city": city,
        "nav": nav,
        "may_approve": can(request.user, "kpis.approve", city),
        "may_enter": can(request.user, "kpis.enter", city),
        "pending_count": selectors.pending_manual(city).count(),
        **extra,
    }


@require_http_methods(["GET", "HEAD", "POST"])
@staff_page
def catalogue(request, city):
    """The catalogue with filters; the council switches publication on and off (POST code, published)."""
    status = 200
    if request.method == "POST":
        code = request.POST.get("code", "")
        try:
            services.set_publication(actor=request.user, city=city, indicator=code,
                                     published=request.POST.get("published") == "1")
        except DomainError as exc:
            messages.error(request, exc.message)
            status = _status(exc)
        else:
            messages.success(request, _("Publication saved."))
            return redirect(f"{reverse('kpis:catalogue')}?{request.POST.get('query', '')}")
    filters = forms.CatalogueFilter(request.GET or None, city=city)
    qs = selectors.indicators(city, **filters.filters())
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    latest = selectors.latest_values(city, rows)
    published = selectors.published_ids(city)
    query = urlencode([(k, v) for k, v in request.GET.items() if k != "page" and v])
    items = [
        {"indicator": i, "latest": latest.get(i.pk), "published": i.pk in published,
         "latest_label": (periods.label(latest[i.pk].grain, latest[i.pk].period_start)
                          if i.pk in latest else ""),
         "dimension": cat.label(i.dimension), "sub_dimension": cat.label(i.sub_dimension)}
        for i in rows
    ]
    return render(request, "kpis/catalogue.html", _context(
        request, city, "catalogue", filters=filters, page=page, items=items, query=query,
        total=page.paginator.count,
    ), status=status)


@require_http_methods(["GET", "HEAD", "POST"])
@staff_page
def manual(request, city):
    """Enter a manual value (kpis.enter); the city's manual values with their status."""
    status = 200
    form = None
    if can(request.user, "kpis.enter", city):
        form = forms.ManualValueForm(request.POST or None, request.FILES or None, city=city,
                                     initial={"indicator": request.GET.get("code", "")})
    if request.method == "POST":
        if form is None:
            raise PermissionDenied(_("You do not have permission to do this."))
        if form.is_valid():
            d = form.cleaned_data
            try:
                services.enter_manual(
                    actor=request.user, city=city, indicator=d["indicator"], period=d["period"],
                    value=d["value"], commune=d["commune"] or None, source=d["source"],
                    evidence=d.get("evidence"), note=d.get("note", ""),
                )
            except DomainError as exc:
                forms.apply_error(form, exc)
                status = _status(exc)
            else:
                messages.success(request, _("The value was saved and awaits the council's approval."))
                return redirect("kpis:manual")
        else:
            status = 422
    page = Paginator(selectors.manual_values(city), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [{"value": v, "period": periods.label(v.grain, v.period_start)} for v in page.object_list]
    return render(request, "kpis/manual.html", _context(
        request, city, "manual", form=form, page=page, rows=rows, query="",
    ), status=status)


@require_http_methods(["GET", "HEAD", "POST"])
@staff_page
def manual_review(request, city):
    """The council approves or rejects pending manual values (POST id, decision, note)."""
    if not can(request.user, "kpis.approve", city):
        raise PermissionDenied(_("You do not have permission to do this."))
    status = 200
    errors: dict[str, str] = {}
    if request.method == "POST":
        decision = request.POST.get("decision")
        try:
            pk = int(request.POST.get("id", ""))
        except ValueError:
            pk = 0
        try:
            if decision not in ("approve", "reject"):
                raise InvalidInput(_("Choose approve or reject."), field="decision")
            services.decide_manual(actor=request.user, city=city, value=pk, approve=decision == "approve",
                                   note=request.POST.get("note", ""))
        except DomainError as exc:
            errors[str(pk)] = exc.message
            status = _status(exc)
        except PermissionDenied as exc:
            errors[str(pk)] = str(exc)
            status = 403
        else:
            messages.success(request, _("Value approved.") if decision == "approve" else _("Value rejected."))
            return redirect("kpis:manual_review")
    rows = [
        {"value": v, "period": periods.label(v.grain, v.period_start), "error": errors.get(str(v.pk), ""),
         "own": v.entered_by_id == request.user.pk,
         "current": selectors.effective_value(city, v.indicator, v.grain, v.period_start, v.commune)}
        for v in selectors.pending_manual(city)[:200]
    ]
    return render(request, "kpis/manual_review.html", _context(
        request, city, "review", rows=rows, form=forms.DecisionForm(),
        errors=[m for k, m in errors.items() if k not in {str(r["value"].pk) for r in rows}],
    ), status=status)


EXPORT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _export_range(request) -> dict:
    """?period=2026-Q3, or ?since=2025-01&until=2026-06 (the same kind of period); ?wards=1."""
    wards = request.GET.get("wards") in ("1", "true", "on")
    period = request.GET.get("period", "").strip()
    since, until = request.GET.get("since", "").strip(), request.GET.get("until", "").strip()
    if period:
        grain, p = periods.parse(period)
        return {"grain": grain, "since": p.start, "until": p.start, "wards": wards}
    if since or until:
        g1, p1 = periods.parse(since or until, field="since")
        g2, p2 = periods.parse(until or since, field="until")
        if g1 != g2:
            raise InvalidInput(_("The start and end of the range must be the same kind of period."),
                               field="until", code="invalid_period")
        if p2.start < p1.start:
            raise InvalidInput(_("The range ends before it starts."), field="until", code="invalid_period")
        return {"grain": g1, "since": p1.start, "until": p2.start, "wards": wards}
    return {"wards": wards}


@require_http_methods(["GET", "HEAD"])
@staff_page
def export(request, city, fmt: str):
    """The effective values as CSV (UTF-8 with BOM) or XLSX, for ?period=… or ?since=…&until=…."""
    if fmt not in EXPORT_TYPES:
        raise Http404
    try:
        args = _export_range(request)
    except DomainError as exc:
        return HttpResponse(exc.message, status=_status(exc), content_type="text/plain; charset=utf-8")
    suffix = request.GET.get("period") or "-".join(
        x for x in (request.GET.get("since", ""), request.GET.get("until", "")) if x
    ) or "all"
    body = exports.values_csv(city, **args) if fmt == "csv" else exports.values_xlsx(city, **args)
    response = HttpResponse(body, content_type=EXPORT_TYPES[fmt])
    safe = "".join(ch for ch in suffix if ch.isalnum() or ch in "-_")[:40]
    response["Content-Disposition"] = f'attachment; filename="kpis-{city.slug}-{safe}.{fmt}"'
    return response
