"""The statistics CSV export: `GET stats.csv?group_by=agency|category|commune|month&since=YYYY-MM-DD
&until=YYYY-MM-DD` for staff holding "reports.stats". Thin: parse, call the selector, render."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from dothi.core.errors import DomainError, InvalidInput
from dothi.reports import stats


def _date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        raise InvalidInput(_("Enter dates as YYYY-MM-DD."), field="since")


@require_safe
def stats_csv(request):
    city = getattr(request, "city", None)
    if city is None:
        raise Http404
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), reverse("identity:staff_signin"))
    try:
        group_by = request.GET.get("group_by") or "agency"
        rows = stats.report_statistics(
            city=city, actor=request.user, group_by=group_by,
            since=_date(request.GET.get("since")), until=_date(request.GET.get("until")),
        )
    except DomainError as exc:
        return HttpResponse(exc.message, status=400, content_type="text/plain; charset=utf-8")
    response = HttpResponse(
        # A byte-order mark, so spreadsheet programs read the Vietnamese names as UTF-8.
        "\ufeff" + stats.stats_csv(rows, titles=True), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="reports-{city.slug}-{group_by}.csv"'
    return response
