"""The sensor registry, the offline job, raw retention, selectors (series resolution, aggregates per
commune, private sensors) and the manifest's operations."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import translation

from dothi.core.errors import Conflict, InvalidInput, NotFound, OutsideCity
from dothi.core.models import Agreement, AuditEvent
from dothi.core.permissions import can
from dothi.sensing import selectors, services
from dothi.sensing.ingestion import ingest
from dothi.sensing.models import DailyRollup, HourlyRollup, Observation, Sensor
from tests import factories

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def register(city, code="S-1", **extra):
    fields = {"name": "Sensor", "kind": "air", "lat": 16.06, "lon": 108.22, "quantities": ["pm25"]}
    fields.update(extra)
    return services.sensor_register(actor=None, city=city, code=code, **fields)


# --- Registry -------------------------------------------------------------------------------------------


def test_register_checks_permission_and_audits(city, cast, quantities):
    for role in ("citizen", "operator", "agency_manager"):
        with pytest.raises(PermissionDenied):
            services.sensor_register(
                actor=cast[role], city=city, code="X-1", name="x", kind="air", lat=16, lon=108
            )
    sensor = services.sensor_register(
        actor=cast["city_admin"],
        city=city,
        code="X-1",
        name="x",
        kind="air",
        lat=16,
        lon=108,
        quantities=["pm25", "temperature"],
    )
    assert AuditEvent.objects.filter(object_type="sensing.sensor", object_id=str(sensor.pk)).exists()
    assert sorted(sensor.quantities.values_list("code", flat=True)) == ["pm25", "temperature"]


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ({"code": "has space"}, "code_invalid"),
        ({"code": "a/b"}, "code_invalid"),
        ({"code": "list"}, "code_invalid"),
        ({"code": "x" * 101}, "code_invalid"),
        ({"kind": "radar"}, "kind_invalid"),
        ({"lat": "north"}, "coordinates_invalid"),
        ({"lat": float("nan")}, "coordinates_invalid"),
        ({"lat": 91}, "coordinates_invalid"),
        ({"quantities": ["radon"]}, "quantity_unknown"),
        ({"name": ""}, "required"),
        ({"expected_interval_seconds": 0}, "interval_invalid"),
        ({"stream_url": "javascript:alert(1)"}, "url_invalid"),
        ({"owner": "nobody"}, "owner_unknown"),
        ({"properties": [1]}, "properties_invalid"),
    ],
)
def test_register_refuses_bad_input(city, quantities, extra, code):
    fields = {"code": "S-1", "name": "Sensor", "kind": "air", "lat": 16.06, "lon": 108.22}
    fields.update(extra)
    with pytest.raises(InvalidInput) as caught:
        services.sensor_register(actor=None, city=city, **fields)
    assert caught.value.code == code
    assert not Sensor.objects.exists()


def test_codes_are_unique_per_city(city, other_city, quantities):
    register(city)
    with pytest.raises(Conflict):
        register(city)
    assert register(other_city).city == other_city


def test_commune_is_found_from_the_point(danang, quantities):
    from dothi.core.models import CommuneArea

    area = CommuneArea.objects.filter(city=danang).select_related("commune").first()
    sensor = register(danang, lat=area.commune.centre_lat, lon=area.commune.centre_lon)
    assert sensor.commune == area.commune
    with pytest.raises(OutsideCity):
        register(danang, code="FAR", lat=21.0, lon=105.8)  # Hà Nội


def test_agreement_rules(city, other_city, quantities):
    company = factories.make_agency(city, "cong-ty-a", kind="enterprise")
    other = factories.make_agency(city, "cong-ty-b", kind="enterprise")
    sharing = Agreement.objects.create(
        city=city, organisation=company, kind="data_sharing", title="Cameras", starts_on=date(2026, 1, 1)
    )
    ppp = Agreement.objects.create(
        city=city, organisation=company, kind="ppp", title="PPP", starts_on=date(2026, 1, 1)
    )
    sensor = register(
        city,
        code="CAM-1",
        kind="camera",
        quantities=[],
        agreement=sharing,
        is_public=False,
        view_description="Crossroads",
        stream_url="https://cam.example/1.m3u8",
    )
    assert sensor.owner == company  # from the agreement
    with pytest.raises(InvalidInput) as caught:
        register(city, code="CAM-2", agreement=ppp)
    assert caught.value.code == "agreement_kind"
    with pytest.raises(InvalidInput) as caught:
        register(city, code="CAM-3", agreement=sharing, owner=other)
    assert caught.value.code == "agreement_owner"
    foreign = Agreement.objects.create(
        city=other_city,
        organisation=factories.make_agency(other_city, "x"),
        kind="data_sharing",
        title="x",
        starts_on=date(2026, 1, 1),
    )
    with pytest.raises(InvalidInput):
        register(city, code="CAM-4", agreement=foreign)


def test_source_owner_is_the_default_owner(city, quantities):
    from dothi.sensing.keys import source_get_or_create

    vendor = factories.make_agency(city, "vendor", kind="vendor")
    source = source_get_or_create(city=city, name="vendor-platform", organisation=vendor)
    sensor = services.sensor_register(
        actor=None,
        city=city,
        code="V-1",
        source=source,
        name="v",
        kind="noise",
        lat=16,
        lon=108,
        quantities=["noise"],
    )
    assert (sensor.owner, sensor.source) == (vendor, source)


def test_update_upsert_and_retire(city, source, quantities):
    sensor, created = services.sensor_upsert(
        actor=None, city=city, code="S-1", name="one", kind="air", lat=16, lon=108, quantities=["pm25"]
    )
    assert created
    same, created = services.sensor_upsert(
        actor=None, city=city, code="S-1", name="renamed", quantities=["pm25", "pm10"]
    )
    assert not created and same.pk == sensor.pk and same.name == "renamed"
    assert ingest(city=city, source=source, items=[("S-1", "pm10", T0, 5.0)]).accepted == 1
    services.sensor_retire(actor=None, sensor=same)
    result = ingest(city=city, source=source, items=[("S-1", "pm10", T0 + timedelta(minutes=1), 5.0)])
    assert [r.code for r in result.rejected] == ["sensor_retired"]
    assert Observation.objects.count() == 1  # data kept


# --- Scheduled jobs -------------------------------------------------------------------------------------


def test_offline_job(city, source, air_sensor, water_sensor):
    now = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    Sensor.objects.filter(pk__in=[air_sensor.pk, water_sensor.pk]).update(created_at=now - timedelta(days=1))
    ingest(
        city=city,
        source=source,
        items=[
            ("AQ-1", "pm25", now - timedelta(seconds=300 + 59), 1.0),
            ("WL-1", "water_level", now - timedelta(seconds=600 + 61), 1.0),
        ],
        now=now,
    )
    assert services.sensors_mark_offline(now=now) == {"offline": 1, "active": 0}
    assert dict(Sensor.objects.values_list("code", "status")) == {"AQ-1": "active", "WL-1": "offline"}
    # Never heard from: offline once its interval has passed since it was registered.
    fresh = services.sensor_register(actor=None, city=city, code="NEW", name="n", kind="air", lat=16, lon=108)
    Sensor.objects.filter(pk=fresh.pk).update(created_at=now - timedelta(seconds=30))
    services.sensors_mark_offline(now=now)
    assert Sensor.objects.get(code="NEW").status == "active"
    later = now + timedelta(minutes=10)
    services.sensors_mark_offline(now=later)
    assert Sensor.objects.get(code="NEW").status == "offline"
    # Cameras send no observations: the job leaves them alone.
    camera = services.sensor_register(
        actor=None,
        city=city,
        code="CAM",
        name="c",
        kind="camera",
        lat=16,
        lon=108,
        expected_interval_seconds=60,
    )
    Sensor.objects.filter(pk=camera.pk).update(created_at=now - timedelta(days=3))
    services.sensors_mark_offline(now=later)
    assert Sensor.objects.get(code="CAM").status == "active"
    # Back: the job (and ingestion) make it active again.
    Sensor.objects.filter(code="WL-1").update(last_seen_at=later)
    assert services.sensors_mark_offline(now=later)["active"] == 1
    assert Sensor.objects.get(code="WL-1").status == "active"


def test_retention_deletes_old_raw_rows_and_keeps_rollups(city, other_city, source, air_sensor):
    now = datetime(2026, 11, 23, tzinfo=UTC)
    old = [("AQ-1", "pm25", now - timedelta(days=401, minutes=i), 1.0) for i in range(7)]
    recent = [("AQ-1", "pm25", now - timedelta(days=399), 2.0)]
    ingest(city=city, source=source, items=old + recent, now=now)
    assert services.observations_purge(now=now, batch=3) == 7
    assert list(Observation.objects.values_list("value", flat=True)) == [2.0]
    assert sum(HourlyRollup.objects.values_list("count", flat=True)) == 8
    assert sum(DailyRollup.objects.values_list("count", flat=True)) == 8
    city.settings = {"sensing": {"raw_retention_days": 30}}
    city.save()
    assert services.observations_purge(now=now) == 1


def test_scheduled_tasks_run(city, air_sensor):
    from dothi.sensing import tasks

    assert tasks.mark_offline.call() == {"offline": 0, "active": 0}
    assert tasks.purge_raw.call() == 0


# --- Selectors ------------------------------------------------------------------------------------------


def test_series_resolution(city, source, air_sensor):
    ingest(
        city=city,
        source=source,
        items=[("AQ-1", "pm25", T0 + timedelta(minutes=20 * i), float(i)) for i in range(9)],
    )  # 10:00 .. 12:40
    raw = selectors.series(city=city, sensor="AQ-1", quantity="pm25", start=T0, end=T0 + timedelta(days=1))
    assert raw.resolution == "raw" and [p.value for p in raw.points] == [float(i) for i in range(9)]
    hourly = selectors.series(
        city=city, sensor="AQ-1", quantity="pm25", start=T0 - timedelta(days=10), end=T0 + timedelta(days=10)
    )
    assert hourly.resolution == "hour"
    assert [(p.time.hour, p.value, p.min, p.max, p.count) for p in hourly.points] == [
        (10, 1.0, 0.0, 2.0, 3),
        (11, 4.0, 3.0, 5.0, 3),
        (12, 7.0, 6.0, 8.0, 3),
    ]
    daily = selectors.series(
        city=city,
        sensor=air_sensor,
        quantity="pm25",
        start=T0 - timedelta(days=200),
        end=T0 + timedelta(days=10),
    )
    assert daily.resolution == "day" and [(p.value, p.count) for p in daily.points] == [(4.0, 9)]
    with pytest.raises(InvalidInput):
        selectors.series(
            city=city, sensor="AQ-1", quantity="pm25", start=T0, end=T0 + timedelta(days=60), resolution="raw"
        )
    with pytest.raises(InvalidInput):
        selectors.series(city=city, sensor="AQ-1", quantity="rainfall", start=T0, end=T0 + timedelta(days=1))
    with pytest.raises(NotFound):
        selectors.series(city=city, sensor="NOPE", quantity="pm25", start=T0, end=T0 + timedelta(days=1))


def test_summed_quantities_show_totals(city, source, water_sensor):
    ingest(
        city=city,
        source=source,
        items=[("WL-1", "rainfall", T0 + timedelta(minutes=10 * i), 2.5) for i in range(6)],
    )
    hourly = selectors.series(
        city=city,
        sensor="WL-1",
        quantity="rainfall",
        start=T0 - timedelta(days=5),
        end=T0 + timedelta(days=5),
    )
    assert [(p.value, p.count) for p in hourly.points] == [(15.0, 6)]


def test_aggregates_per_commune(danang, quantities, source):
    from dothi.core.models import CommuneArea
    from dothi.sensing.keys import source_get_or_create

    source = source_get_or_create(city=danang, name="gw")
    areas = list(CommuneArea.objects.filter(city=danang).select_related("commune").order_by("commune_id")[:2])
    for n, area in enumerate(areas):
        for k in range(2):
            register(danang, code=f"S-{n}-{k}", lat=area.commune.centre_lat, lon=area.commune.centre_lon)
    items = [
        ("S-0-0", "pm25", T0, 10.0),
        ("S-0-1", "pm25", T0, 20.0),
        ("S-1-0", "pm25", T0, 40.0),
        ("S-0-0", "pm25", T0 + timedelta(days=1), 99.0),
    ]
    ingest(city=danang, source=source, items=items)
    rows = selectors.aggregates(
        city=danang, quantity="pm25", start=date(2026, 11, 20), end=date(2026, 11, 21)
    )
    assert [(a.commune_code, a.sensors, a.count, a.mean, a.min, a.max) for a in rows] == [
        (areas[0].commune_id, 2, 2, 15.0, 10.0, 20.0),
        (areas[1].commune_id, 1, 1, 40.0, 40.0, 40.0),
    ]
    whole = selectors.aggregates(
        city=danang, quantity="pm25", start=date(2026, 11, 20), end=date(2026, 11, 22), by_commune=False
    )
    assert [(a.sensors, a.count, a.max) for a in whole] == [(3, 4, 99.0)]


def test_latest_and_private_sensors(city, cast, source, air_sensor, water_sensor):
    ingest(
        city=city,
        source=source,
        items=[
            ("AQ-1", "pm25", T0, 1.0),
            ("AQ-1", "pm25", T0 + timedelta(hours=1), 2.0),
            ("WL-1", "water_level", T0, 0.5),
        ],
    )
    services.sensor_update(actor=None, sensor=water_sensor, is_public=False)
    public = selectors.latest(city=city, viewer=None)
    assert [(s.code, s.value("pm25").value) for s in public] == [("AQ-1", 2.0)]
    staff = selectors.latest(city=city, viewer=cast["agency_staff"])
    assert [s.code for s in staff] == ["AQ-1", "WL-1"]
    assert not selectors.can_read_private(cast["citizen"], city)
    with pytest.raises(NotFound):
        selectors.sensor_by_code(city=city, code="WL-1", viewer=cast["citizen"])
    assert selectors.status_counts(city=city) == {"active": 2, "offline": 0, "retired": 0}


def test_rejections_selector_needs_configure(city, cast, source, air_sensor):
    ingest(city=city, source=source, items=[("X", "pm25", T0, 1.0)])
    with pytest.raises(PermissionDenied):
        selectors.rejections(city=city, viewer=cast["operator"])
    assert [r.code for r in selectors.rejections(city=city, viewer=cast["city_admin"])] == ["sensor_unknown"]


# --- Operations and KPIs --------------------------------------------------------------------------------

EXPECTED = {
    "sensing.configure": {"city_admin"},
    "sensing.read_private": {"agency_staff", "agency_manager", "operator", "council_member", "city_admin"},
}


@pytest.mark.parametrize("operation", sorted(EXPECTED))
def test_operation_matrix(operation, cast, city):
    from dothi.core.manifests import registry

    assert {op for op in registry.permissions() if op.startswith("sensing.")} == set(EXPECTED)
    for role, user in cast.items():
        assert can(user, operation, city) is (role == "platform_admin" or role in EXPECTED[operation]), role


def test_kpis_and_dataset(city, source, air_sensor, water_sensor):
    from dothi.core.manifests import Period, registry

    Sensor.objects.update(created_at=datetime(2026, 1, 1, tzinfo=UTC))
    ingest(
        city=city,
        source=source,
        items=[
            ("AQ-1", "pm25", T0, 1.0),
            ("AQ-1", "pm10", T0, 1.0),
            ("AQ-1", "pm25", T0 + timedelta(days=1), 3.0),
        ],
    )
    kpis = {k.code: k for k in registry.kpis()}
    period = Period(date(2026, 11, 20), date(2026, 11, 22))
    availability = kpis["sensing.data_availability"].compute(city, period)
    assert (availability.numerator, availability.denominator, availability.value) == (2, 4, 50.0)
    per_day = kpis["sensing.observations_per_day"].compute(city, period)
    assert (per_day.numerator, per_day.value) == (3, 1.5)
    dataset = next(d for d in registry.datasets() if d.code == "sensing.hourly_means")
    with translation.override("en"):
        rows = list(dataset.rows(city))
    assert rows == [] or all(r["count"] >= 1 for r in rows)  # older than 30 days in real time
