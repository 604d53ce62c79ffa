"""The reports module's demo seeder: deterministic, fast, and consistent with what the services
guarantee."""

from __future__ import annotations

import datetime as dt
import random
import time

import pytest
from django.utils import timezone

from dothi.core import geo
from dothi.core.demo import _seed_organisations, _seed_people
from dothi.core.manifests import registry
from dothi.core.models import Feedback
from dothi.reports import demo
from dothi.reports.models import (
    OPEN_STATUSES,
    Category,
    Open311Key,
    Report,
    ReportEvent,
    ReportPhoto,
    RoutingRule,
    Status,
)

NOW = dt.datetime(2026, 3, 18, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def demo_city(danang, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"  # evidence files never land in the checkout's var/
    orgs = _seed_organisations(danang, NOW)
    _seed_people(danang, orgs, random.Random(48), NOW)
    return danang


def _fingerprint(city):
    reports = Report.objects.for_city(city).order_by("reference")
    return [
        (r.reference, r.category.code, r.commune_id, r.agency.code, r.status, r.channel, r.lat, r.lon,
         r.submitted_at, r.acknowledged_at, r.resolved_at, r.closed_at, r.due_at, r.confidential,
         r.reporter.username if r.reporter else None, r.attributes, r.events.count(), r.photos.count())
        for r in reports.select_related("category", "agency", "reporter")
    ] + [
        (f.subject_id, f.rating, f.created_at)
        for f in Feedback.objects.for_city(city).filter(subject_type="reports.report").order_by("subject_id")
    ]


def _clear(city):
    Feedback.objects.for_city(city).filter(subject_type="reports.report").delete()
    Report.objects.for_city(city).update(duplicate_of=None)
    Report.objects.for_city(city).delete()
    Category.objects.for_city(city).delete()
    Open311Key.objects.for_city(city).delete()
    from dothi.reports.models import Dispatch, ResponseTemplate

    Dispatch.objects.for_city(city).delete()
    ResponseTemplate.objects.for_city(city).delete()


def test_the_seeder_is_registered():
    seeders = dict(registry.seeders())
    assert seeders["reports"] is demo.seed


def test_the_seeder_is_deterministic_and_fast(demo_city):
    started = time.perf_counter()
    demo.seed(city=demo_city, rng=random.Random("48:reports"), now=NOW)
    elapsed = time.perf_counter() - started
    assert elapsed < 5, f"seeding took {elapsed:.1f} s"
    first = _fingerprint(demo_city)
    assert len([row for row in first if len(row) > 3]) == demo.REPORT_COUNT
    _clear(demo_city)
    demo.seed(city=demo_city, rng=random.Random("48:reports"), now=NOW)
    assert _fingerprint(demo_city) == first
    _clear(demo_city)
    demo.seed(city=demo_city, rng=random.Random("another seed"), now=NOW)
    assert _fingerprint(demo_city) != first


def test_the_demo_data_is_consistent(demo_city):
    demo.seed(city=demo_city, rng=random.Random("48:reports"), now=NOW)
    city = demo_city
    categories = {c.code: c for c in Category.objects.for_city(city).prefetch_related("attributes")}
    assert len(categories) == 10
    assert all(len(c.attributes.all()) <= 2 for c in categories.values())
    assert categories["flooding"].deadline_working_days == 1
    assert categories["pothole"].deadline_working_days == 3
    assert categories["security"].confidential
    assert [code for code, c in categories.items() if c.confidential] == ["security"]
    # Every category has a default route; the ward committees handle encroachment in their wards.
    assert RoutingRule.objects.for_city(city).filter(commune__isnull=True).count() == 10
    ward_rules = RoutingRule.objects.for_city(city).filter(commune__isnull=False)
    assert ward_rules.filter(agency__code="phuong-hai-chau", category__code="pavement-encroachment").exists()

    reports = list(Report.objects.for_city(city).select_related("category", "agency", "commune"))
    assert len(reports) == demo.REPORT_COUNT
    statuses = {r.status for r in reports}
    assert {Status.RECEIVED, Status.IN_PROGRESS, Status.RESOLVED, Status.CLOSED, Status.REJECTED} <= statuses
    outline_hits = geo.locate_many(city, [(r.lon, r.lat) for r in reports])
    evidence = set(
        ReportPhoto.objects.filter(report__city=city, kind=ReportPhoto.Kind.EVIDENCE)
        .values_list("report_id", flat=True)
    )
    responses = set(
        ReportEvent.objects.filter(report__city=city, to_status=Status.RESOLVED)
        .exclude(text="")
        .values_list("report_id", flat=True)
    )
    overdue = 0
    for report, commune in zip(reports, outline_hits, strict=True):
        # inside the city, in the commune the platform finds for the point
        assert commune is not None and commune.pk == report.commune_id
        assert report.confidential == report.category.confidential
        assert NOW - dt.timedelta(days=demo.DAYS) <= report.submitted_at <= NOW
        assert report.due_at and report.due_at > report.submitted_at
        if report.resolved_at is not None or report.status in (Status.RESOLVED, Status.CLOSED):
            # Resolving needs a response text and evidence, as the services demand.
            assert report.pk in evidence and report.pk in responses, report.reference
            assert report.resolved_at is not None and report.resolved_at <= NOW
        if report.status in OPEN_STATUSES:
            assert report.resolved_at is None and report.closed_at is None
            overdue += report.due_at < NOW and report.paused_at is None
        if report.status == Status.NEEDS_INFO:
            assert report.paused_at is not None
        if report.status == Status.DUPLICATE:
            assert report.duplicate_of is not None and report.duplicate_of.submitted_at <= report.submitted_at
        if report.status == Status.REJECTED:
            assert report.events.filter(to_status=Status.REJECTED).exclude(text="").exists()
        if report.acknowledged_at:
            assert report.acknowledged_at >= report.submitted_at
        assert report.events.first().kind == ReportEvent.Kind.SUBMITTED
        assert report.updated_at == report.events.last().at
        assert report.reporter_id or report.reporter_contact_enc  # someone to answer
    assert overdue >= 5  # the demo shows overdue reports in the queues
    assert ReportPhoto.objects.filter(report__city=city).count() == len(evidence)
    assert Report.objects.for_city(city).filter(status=Status.CLOSED).count() > 20

    ratings = Feedback.objects.for_city(city).filter(subject_type="reports.report")
    assert 10 <= ratings.count() < 200
    for feedback in ratings.select_related("author"):
        report = Report.objects.get(reference=feedback.subject_id)
        assert report.reporter_id == feedback.author_id  # only the reporter rates
        assert report.status in (Status.RESOLVED, Status.CLOSED)
        assert report.resolved_at <= feedback.created_at <= NOW

    key = Open311Key.objects.get(city=city)
    assert key.is_active and Report.objects.filter(open311_key=key, channel="open311").exists()


def test_the_demo_feeds_the_statistics(demo_city):
    from dothi.core.manifests import Period
    from dothi.reports import stats
    from tests import factories

    demo.seed(city=demo_city, rng=random.Random("48:reports"), now=timezone.now())
    manager = factories.make_staff(demo_city, "city_admin")
    rows = stats.report_statistics(city=demo_city, actor=manager, group_by="category")
    assert sum(r["submitted"] for r in rows) == demo.REPORT_COUNT
    today = timezone.localdate()
    period = Period(today - dt.timedelta(days=60), today + dt.timedelta(days=1))
    for kpi in stats.KPIS:
        value = kpi.compute(demo_city, period)
        assert value.value is not None and value.sample_size > 0, kpi.code
    assert list(stats.open_dataset_rows(demo_city))
