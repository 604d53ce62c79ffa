"""Report statistics, KPIs and the open dataset on a small hand-made data set whose answers are worked
out by hand below. Runs on SQLite (percentiles in Python) and PostgreSQL (percentiles in SQL, and the
Python fallback checked against them)."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied

from dothi.core import facts
from dothi.core.errors import InvalidInput
from dothi.core.manifests import KpiValue, Period, registry
from dothi.core.models import Commune, Feedback, Province
from dothi.reports import stats
from dothi.reports.models import Category, Report, Status
from tests import factories

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
BASE = dt.datetime(2025, 3, 3, 8, 0, tzinfo=TZ)  # a Monday with no holiday that week
NOW = dt.datetime(2025, 4, 2, 12, 0, tzinfo=TZ)
H = dt.timedelta(hours=1)
_refs = itertools.count(1)


def _commune(code: str, name: str) -> Commune:
    Province.objects.get_or_create(code="48", defaults={"name": "Thành phố Đà Nẵng", "kind": "thanh-pho",
                                                        "codename": "da_nang"})
    commune, _ = Commune.objects.get_or_create(
        code=code, defaults={"province_id": "48", "name": name, "kind": "phuong", "codename": name.lower()}
    )
    return commune


def _report(city, category, commune, agency, submitted, *, ack=None, resolved=None, due=None,
            status=Status.RECEIVED, confidential=False, hidden=False) -> Report:
    return Report.objects.create(
        city=city, reference=f"T{next(_refs):07d}", category=category, commune=commune, agency=agency,
        status=status, confidential=confidential, hidden=hidden, lat=16.05, lon=108.2, description="test",
        submitted_at=submitted, acknowledged_at=ack, resolved_at=resolved, due_at=due,
    )


def _rate(city, report: Report, rating: int, at: dt.datetime) -> None:
    author = factories.make_citizen(city)
    Feedback.objects.create(city=city, subject_type="reports.report", subject_id=report.reference,
                            author=author, rating=rating, created_at=at)


@pytest.fixture
def data(city):
    """Five reports in the window (March–April 2025), one before it and one in another city.

    | report | agency | category | commune | submitted    | ack   | resolved | due    | status      | rating |
    | R1     | A      | pothole  | C1      | Mon 3 Mar 8h | +2 h  | +10 h    | +72 h  | resolved    | 5      |
    | R2     | A      | pothole  | C1      | Tue 4 Mar 8h | +4 h  | +100 h   | +72 h  | closed      | 3      |
    | R3     | B      | flooding | C2      | Wed 5 Mar 8h | +1 h  | +20 h    | +24 h  | resolved    | 4      |
    | R4     | A      | flooding | C2      | Thu 6 Mar 8h | +30 h | —        | +24 h  | in progress | —      |
    | R5     | A      | pothole  | C2      | 1 Apr 00:30  | —     | —        | 3 Apr  | received    | —      |
    """
    a = factories.make_agency(city, "agency-a", name_vi="Cơ quan A", name_en="Agency A")
    b = factories.make_agency(city, "agency-b", name_vi="Cơ quan B", name_en="Agency B")
    pothole = Category.objects.create(city=city, code="pothole", name_vi="Ổ gà", name_en="Pothole")
    flooding = Category.objects.create(city=city, code="flooding", name_vi="Ngập úng", name_en="Flooding")
    c1, c2 = _commune("20242", "Hải Châu"), _commune("20209", "Thanh Khê")
    day = dt.timedelta(days=1)
    r1 = _report(city, pothole, c1, a, BASE, ack=BASE + 2 * H, resolved=BASE + 10 * H, due=BASE + 72 * H,
                 status=Status.RESOLVED)
    t2 = BASE + day
    r2 = _report(city, pothole, c1, a, t2, ack=t2 + 4 * H, resolved=t2 + 100 * H, due=t2 + 72 * H,
                 status=Status.CLOSED)
    t3 = BASE + 2 * day
    r3 = _report(city, flooding, c2, b, t3, ack=t3 + H, resolved=t3 + 20 * H, due=t3 + 24 * H,
                 status=Status.RESOLVED)
    t4 = BASE + 3 * day
    r4 = _report(city, flooding, c2, a, t4, ack=t4 + 30 * H, due=t4 + 24 * H, status=Status.IN_PROGRESS)
    t5 = dt.datetime(2025, 4, 1, 0, 30, tzinfo=TZ)  # 31 March in UTC: the month is the city's
    r5 = _report(city, pothole, c2, a, t5, due=dt.datetime(2025, 4, 3, 8, tzinfo=TZ))
    # Outside the window, resolved in February: in no March figure.
    t6 = dt.datetime(2025, 2, 3, 8, tzinfo=TZ)
    r6 = _report(city, pothole, c1, a, t6, ack=t6 + H, resolved=t6 + 500 * H, due=t6 + 24 * H,
                 status=Status.RESOLVED)
    for report, rating in ((r1, 5), (r2, 3), (r3, 4), (r6, 1)):
        _rate(city, report, rating, report.resolved_at + 2 * H)
    # Another city's report must never count.
    other = factories.make_city("hcm", name_vi="TP HCM", name_en="HCMC", province_code="79")
    other_agency = factories.make_agency(other, "agency-a")
    other_cat = Category.objects.create(city=other, code="pothole", name_vi="Ổ gà")
    _report(other, other_cat, c1, other_agency, BASE, ack=BASE + H, resolved=BASE + H, due=BASE + H,
            status=Status.RESOLVED)
    # Made past the services: the KPIs' daily facts are derived from these rows (core.facts).
    for c in (city, other):
        facts.rebuild_city(city=c, keys=[s.key for s in stats.FACT_SOURCES], until=dt.date(2025, 6, 1))
    return {"a": a, "b": b, "reports": [r1, r2, r3, r4, r5, r6]}


@pytest.fixture
def manager(city, data):
    return factories.make_staff(city, "agency_manager", organisation=data["a"])


def _stats(city, actor, group_by):
    return stats.report_statistics(city=city, actor=actor, group_by=group_by, since=dt.date(2025, 3, 1),
                                   until=dt.date(2025, 5, 1), now=NOW)


EXPECTED_BY_AGENCY = {
    "agency-a": {
        "label": "Cơ quan A", "submitted": 4, "resolved": 2, "open": 2, "overdue": 1,
        # acknowledged after 2, 4 and 30 h: mean 12, median 4, p90 at position 1.8 = 4 + 0.8 × 26
        "acknowledge_n": 3, "acknowledge_mean_h": 12.0, "acknowledge_median_h": 4.0,
        "acknowledge_p90_h": 24.8,
        # resolved after 10 and 100 h: mean = median 55, p90 at position 0.9 = 10 + 0.9 × 90
        "resolve_n": 2, "resolve_mean_h": 55.0, "resolve_median_h": 55.0, "resolve_p90_h": 91.0,
        "on_time": 1, "on_time_n": 2, "on_time_share": 0.5, "rating_n": 2, "rating_mean": 4.0,
    },
    "agency-b": {
        "label": "Cơ quan B", "submitted": 1, "resolved": 1, "open": 0, "overdue": 0,
        "acknowledge_n": 1, "acknowledge_mean_h": 1.0, "acknowledge_median_h": 1.0, "acknowledge_p90_h": 1.0,
        "resolve_n": 1, "resolve_mean_h": 20.0, "resolve_median_h": 20.0, "resolve_p90_h": 20.0,
        "on_time": 1, "on_time_n": 1, "on_time_share": 1.0, "rating_n": 1, "rating_mean": 4.0,
    },
}


def test_statistics_per_agency_match_the_hand_computed_answers(city, manager):
    rows = _stats(city, manager, "agency")
    assert [r["key"] for r in rows] == ["agency-a", "agency-b"]
    for row in rows:
        expected = EXPECTED_BY_AGENCY[row["key"]]
        assert {k: row[k] for k in expected} == expected
    assert list(rows[0]) == list(stats.COLUMNS)


def test_statistics_per_category_commune_and_month(city, manager):
    by_category = {r["key"]: r for r in _stats(city, manager, "category")}
    assert {k: (r["submitted"], r["resolved"], r["overdue"]) for k, r in by_category.items()} == {
        "pothole": (3, 2, 0), "flooding": (2, 1, 1),
    }
    # flooding: acknowledged after 1 and 30 h -> median 15.5; resolved R3 only, on time
    assert by_category["flooding"]["acknowledge_median_h"] == 15.5
    assert by_category["flooding"]["on_time_share"] == 1.0
    assert by_category["pothole"]["rating_mean"] == 4.0  # 5 and 3

    by_commune = {r["key"]: r for r in _stats(city, manager, "commune")}
    assert {k: r["submitted"] for k, r in by_commune.items()} == {"20242": 2, "20209": 3}
    # (the national units may already be loaded, with the official name "Phường Hải Châu")
    assert by_commune["20242"]["label"] == Commune.objects.get(code="20242").name
    assert by_commune["20209"]["resolve_median_h"] == 20.0

    by_month = _stats(city, manager, "month")
    # R5 was filed at 00:30 on 1 April in Đà Nẵng (still 31 March in UTC): April in the city.
    assert [(r["key"], r["submitted"], r["open"]) for r in by_month] == [("2025-03", 4, 1), ("2025-04", 1, 1)]


@pytest.mark.postgres
def test_statistics_are_the_same_in_sql_and_in_python(city, manager, monkeypatch):
    """The SQL path (PERCENTILE_CONT, PostgreSQL only) and the Python fallback agree exactly."""
    assert stats._sql_percentiles()
    in_sql = {g: _stats(city, manager, g) for g in stats.GROUPS}
    monkeypatch.setattr(stats, "_sql_percentiles", lambda: False)
    in_python = {g: _stats(city, manager, g) for g in stats.GROUPS}
    assert in_sql == in_python
    assert in_sql["agency"][0]["acknowledge_p90_h"] == 24.8


@pytest.mark.postgres
def test_sql_percentile_aggregate_on_postgres(city, data):
    acknowledged = Report.objects.for_city(city).filter(agency=data["a"], acknowledged_at__isnull=False)
    seconds = stats.EpochSeconds("acknowledged_at", "submitted_at")
    # R6 (1 h), R1 (2 h), R2 (4 h), R4 (30 h): position 0.9 × 3 = 2.7 -> 4 + 0.7 × 26 = 22.2 h
    figures = acknowledged.aggregate(
        p90=stats.PercentileCont(seconds, 0.9), median=stats.PercentileCont(seconds, 0.5)
    )
    assert figures["p90"] == pytest.approx(22.2 * 3600)
    assert figures["median"] == pytest.approx(3 * 3600)


def test_percentile_cont_interpolates_like_postgres():
    assert stats.percentile_cont([], 0.5) is None
    assert stats.percentile_cont([7], 0.9) == 7
    assert stats.percentile_cont([1, 2, 3, 4], 0.5) == 2.5
    assert stats.percentile_cont([10, 0, 5], 0.9) == pytest.approx(9.0)


def test_the_window_and_agency_filter(city, manager, data):
    everything = stats.report_statistics(city=city, actor=manager, group_by="agency", now=NOW)
    assert sum(r["submitted"] for r in everything) == 6  # R6 included, the other city's not
    march = stats.report_statistics(city=city, actor=manager, group_by="agency", since=dt.date(2025, 3, 1),
                                    until=dt.date(2025, 4, 1), agency=data["b"], now=NOW)
    assert [(r["key"], r["submitted"]) for r in march] == [("agency-b", 1)]


def test_statistics_need_the_permission_and_a_known_grouping(city, data, cast):
    with pytest.raises(PermissionDenied):
        _stats(city, cast["citizen"], "agency")
    with pytest.raises(PermissionDenied):
        _stats(city, cast["agency_staff"], "agency")
    with pytest.raises(InvalidInput):
        _stats(city, cast["city_admin"], "reporter")
    with pytest.raises(InvalidInput):
        stats.report_statistics(city=city, actor=cast["city_admin"], since=dt.date(2025, 4, 1),
                                until=dt.date(2025, 3, 1))


def test_csv_export(city, manager):
    rows = _stats(city, manager, "agency")
    rows.append(dict(rows[0], key="evil", label="=HYPERLINK(\"http://x\")"))
    text = stats.stats_csv(rows)
    lines = text.splitlines()
    assert lines[0] == ",".join(stats.COLUMNS)
    assert lines[1].startswith("agency-a,Cơ quan A,4,2,2,1,3,12.0,4.0,24.8,2,55.0,55.0,91.0,1,2,0.5,2,4.0")
    assert lines[2].endswith(",1,1,1.0,1,4.0")
    assert "'=HYPERLINK" in lines[3]  # never a live formula in a spreadsheet
    from django.utils import translation

    with translation.override("en"):
        assert stats.stats_csv([], titles=True).startswith("Code,Name,Submitted,Resolved,Open,Overdue")


# --- KPIs -------------------------------------------------------------------------------------------

MARCH = Period(dt.date(2025, 3, 1), dt.date(2025, 4, 1))


def test_kpi_resolved_on_time(city, data):
    # Resolved in March: R1 (on time), R2 (late), R3 (on time); R6 was resolved in February.
    value = stats.kpi_resolved_on_time(city, MARCH)
    assert (value.value, value.numerator, value.denominator, value.sample_size) == (66.67, 2, 3, 3)


def test_kpi_median_hours_to_resolve(city, data):
    value = stats.kpi_median_hours_to_resolve(city, MARCH)  # 10, 100, 20 h (from the 1 % histogram)
    assert value.value == pytest.approx(20.0, rel=0.01)
    assert (value.denominator, value.sample_size) == (3, 3)
    p90 = stats.kpi_p90_hours_to_resolve(city, MARCH)  # position 1.8 of 10, 20, 100: 20 + 0.8 × 80
    assert p90.value == pytest.approx(84.0, rel=0.01) and p90.sample_size == 3
    mean = stats.kpi_mean_hours_to_resolve(city, MARCH)
    assert (mean.value, mean.numerator, mean.denominator) == (43.33, 130.0, 3)


def test_kpi_mean_satisfaction(city, data):
    value = stats.kpi_mean_satisfaction(city, MARCH)  # 5, 3, 4; the February rating is not in March
    assert (value.value, value.numerator, value.denominator, value.sample_size) == (4.0, 12, 3, 3)


def test_kpi_acknowledged_within_one_working_day(city, data):
    # R1–R3 within hours; R4 on Thursday 08:00, acknowledged Friday 14:00, past Friday 08:00.
    value = stats.kpi_acknowledged_within_one_working_day(city, MARCH)
    assert (value.value, value.numerator, value.denominator) == (75.0, 3, 4)


def test_kpis_without_data_say_so(city, data):
    empty = Period(dt.date(2024, 1, 1), dt.date(2024, 2, 1))
    for kpi in stats.KPIS:
        value = kpi.compute(city, empty)
        assert isinstance(value, KpiValue)
        assert value.value is None and value.sample_size == 0 and value.note


def test_the_manifest_declares_the_kpis_and_the_dataset():
    manifest = registry.get("reports")
    codes = {k.code for k in manifest.kpis}
    assert {k.code for k in stats.KPIS} <= codes
    assert "reports.per_category_commune_month" in {d.code for d in manifest.datasets}


# --- Open dataset -------------------------------------------------------------------------------------


def test_open_dataset_suppresses_small_groups_and_confidential_reports(city, data):
    pothole = Category.objects.get(city=city, code="pothole")
    security = Category.objects.create(city=city, code="security", name_vi="An ninh", confidential=True)
    c1 = Commune.objects.get(code="20242")
    a = data["a"]
    when = dt.datetime(2025, 5, 10, 9, tzinfo=TZ)
    for i in range(5):
        _report(city, pothole, c1, a, when + i * H, resolved=when + (i + 5) * H if i < 2 else None)
        _report(city, security, c1, a, when + i * H, confidential=True)
    _report(city, pothole, c1, a, when, hidden=True)
    rows = list(stats.open_dataset_rows(city))
    # Only May's pothole group in Hải Châu reaches 5; the confidential and hidden reports are absent.
    assert rows == [{
        "month": "2025-05", "category_code": "pothole", "category": "Ổ gà", "category_en": "Pothole",
        "commune_code": "20242", "commune": c1.name, "count": 5, "resolved": 2,
    }]
    assert stats.DATASETS[0].min_group_size == 5
    # No identifying field ever appears.
    assert not {"reference", "reporter", "description", "lat", "lon"} & set(rows[0])


def test_the_csv_view(city, manager, cast, rf):
    """The export view (src/dothi/reports/views_stats.py), called directly: its URL is mounted by the lead."""
    from django.contrib.auth.models import AnonymousUser
    from django.utils import translation

    from dothi.reports.views_stats import stats_csv

    def call(user, **query):
        request = rf.get("/reports/stats.csv", query)
        request.city, request.user = city, user
        return stats_csv(request)

    with translation.override("en"):
        response = call(manager, group_by="agency", since="2025-03-01", until="2025-05-01")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("Code,Name,Submitted")
    assert "agency-a,Agency A,4,2," in text  # names in the reader's language
    assert call(manager, group_by="reporter").status_code == 400
    assert call(manager, since="01/03/2025").status_code == 400
    assert call(AnonymousUser()).status_code == 302
    with pytest.raises(PermissionDenied):
        call(cast["citizen"])


def test_csv_download_over_http(city, manager, cast, client):
    client.force_login(manager)
    url = f"/c/{city.slug}/reports/stats.csv"
    response = client.get(f"{url}?group_by=agency&since=2025-01-01&until=2026-01-01")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    body = response.content.decode("utf-8-sig")
    assert "agency-a" in body and "Cơ quan A" in body
    assert client.get(f"/c/{city.slug}/reports/stats.csv?group_by=nonsense").status_code == 400
    client.force_login(cast["citizen"])
    assert client.get(f"/c/{city.slug}/reports/stats.csv").status_code == 403
