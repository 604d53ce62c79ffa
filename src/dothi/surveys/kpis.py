"""The module's KPI calculators (declared in the manifest) and `indicator_values`, published to the KPI
module as `surveys.indicator_values`. Every figure is aggregated in SQL (selectors); an empty period is
a missing value (`value=None` with a note), never zero."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from dothi.core.manifests import KpiCalculator, KpiValue, Period
from dothi.core.models import City
from dothi.surveys import selectors

REPORTS = "reports.report"
APPOINTMENTS = "appointments.booking"


def _missing(note: str) -> KpiValue:
    return KpiValue(value=None, sample_size=0, note=note)


def _nps_value(p: int, d: int, n: int) -> KpiValue:
    if not n:
        return _missing("no NPS answer in the period")
    return KpiValue(
        value=selectors.nps(p, d, n),
        numerator=p - d,
        denominator=n,
        sample_size=n,
        note=f"promoters {p}, detractors {d}, passives {n - p - d}",
    )


def app_nps(city: City, period: Period) -> KpiValue:
    """NPS of the app survey's 0–10 answers submitted in the period."""
    return _nps_value(*selectors.nps_counts(city, period.start, period.end))


def app_nps_wards(city: City, period: Period) -> dict[int, KpiValue]:
    rows = selectors.nps_counts(city, period.start, period.end, by_commune=True)
    return {commune: _nps_value(*counts) for commune, counts in rows.items()}


def _csat(city: City, period: Period, subject_type: str | None) -> KpiValue:
    high, n = selectors.feedback_counts(city, period.start, period.end, subject_type)
    if not n:
        return _missing("no rating was given in the period")
    return KpiValue(value=selectors.csat(high, n), numerator=high, denominator=n, sample_size=n)


def csat_all(city: City, period: Period) -> KpiValue:
    return _csat(city, period, None)


def csat_reports(city: City, period: Period) -> KpiValue:
    return _csat(city, period, REPORTS)


def csat_appointments(city: City, period: Period) -> KpiValue:
    return _csat(city, period, APPOINTMENTS)


def indicator_values(city: City, period: Period) -> dict[str, KpiValue]:
    """{indicator code: KpiValue} for the indicators the city's survey questions measure: the mean of a
    1–5 rating question's answers, the NPS of a 0–10 question's, over the answers submitted in the period
    (every question with the same code counts together)."""
    out: dict[str, KpiValue] = {}
    for code, row in selectors.indicator_counts(city, period.start, period.end).items():
        n = row["n"]
        if not n:
            out[code] = _missing("no answer in the period")
        elif row["kind"] == "nps_0_10":
            out[code] = _nps_value(row["p"], row["d"], n)
        else:
            out[code] = KpiValue(
                value=round(row["sum"] / n, 2),
                numerator=row["sum"],
                denominator=n,
                sample_size=n,
                note="mean of 1–5 answers",
            )
    return out


KPIS = (
    KpiCalculator(
        code="surveys.app_nps",
        name=_("Net Promoter Score of the app"),
        unit="NPS",
        compute=app_nps,
        compute_wards=app_nps_wards,
        method=_(
            "Of the answers to the app survey's 0–10 question given in the period: the percentage of "
            "promoters (9–10) minus the percentage of detractors (0–6), from −100 to 100."
        ),
    ),
    KpiCalculator(
        code="surveys.csat",
        name=_("Citizen satisfaction (CSAT)"),
        unit="%",
        compute=csat_all,
        method=_(
            "Share of the 1–5 ratings given in the period, on every rated service (resolved reports, "
            "served appointments), that are 4 or 5."
        ),
    ),
    KpiCalculator(
        code="surveys.csat_reports",
        name=_("Satisfaction with the handling of reports (CSAT)"),
        unit="%",
        compute=csat_reports,
        method=_(
            "Share of the 1–5 ratings reporters gave in the period to the handling of their resolved "
            "reports that are 4 or 5."
        ),
    ),
    KpiCalculator(
        code="surveys.csat_appointments",
        name=_("Satisfaction with public-service visits (CSAT)"),
        unit="%",
        compute=csat_appointments,
        method=_(
            "Share of the 1–5 ratings citizens gave in the period to their served appointments that are "
            "4 or 5."
        ),
    ),
)
