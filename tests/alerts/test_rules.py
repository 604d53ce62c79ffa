"""Warning rules on sensor data, through the real ingestion service (and once through the bulk API):
duration, hysteresis, escalation, all-clear, hourly means, areas, late data, a failing rule, the
no-match fast path, validation, and (PostgreSQL) concurrent batches raising one warning."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import orjson
import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.utils import timezone

from dothi.alerts import rules
from dothi.alerts.models import AlertRule, CapMessage, PublicWarning, RuleSensorState
from dothi.core.manifests import Manifest, registry
from dothi.sensing.ingestion import AcceptedBatch, ingest
from dothi.sensing.models import Observation

pytestmark = pytest.mark.django_db


def _hour_start() -> datetime:
    # Readings in one past UTC hour: the hourly mean of "the current hour" is then that hour's.
    return timezone.now().astimezone(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)


T0 = _hour_start()


def _alerts_listeners() -> list:
    listeners = registry.observation_listeners()
    return [fn for fn in listeners if getattr(fn, "__module__", "").startswith("dothi.alerts")]


@pytest.fixture(autouse=True)
def rules_listening():
    """The rules listen to ingestion: through the alerts manifest once it lists them, else a test
    manifest of our own (never both, or each batch would be seen twice)."""
    if _alerts_listeners():
        yield
        return
    registry.register(Manifest(name="test-alert-rules", observation_listeners=(rules.on_observations,)))
    yield
    registry.unregister("test-alert-rules")


@pytest.fixture
def rx(ax):
    """`ax` plus a data source, a water sensor in commune A and one in commune B, and an air sensor in
    commune A."""
    from dothi.sensing import services
    from dothi.sensing.keys import source_get_or_create
    from dothi.sensing.quantities import ensure_global_catalogue

    ensure_global_catalogue()  # a transactional test's flush empties the seeded catalogue

    def sensor(code, point, quantities, kind):
        return services.sensor_register(actor=None, city=ax.city, code=code, name=code, kind=kind,
                                        lat=point[0], lon=point[1], quantities=quantities)

    return SimpleNamespace(
        **vars(ax),
        source=source_get_or_create(city=ax.city, name="gateway"),
        wl_a=sensor("WL-A", ax.point_a, ["water_level"], "water"),
        wl_b=sensor("WL-B", ax.point_b, ["water_level"], "water"),
        aq_a=sensor("AQ-A", ax.point_a, ["pm25"], "air"),
    )


def make_rule(rx, **fields):
    values = {
        "city": rx.city,
        "name": "River level",
        "category": rx.flood,
        "quantity_code": "water_level",
        "operator": ">=",
        "levels": [{"threshold": 1.5, "severity": "Severe"}],
        "hysteresis": 0.0,
        "duration_minutes": 0,
        "headline_vi": "Mực nước {value} {unit} tại {sensor}",
        "headline_en": "Water at {value} {unit} at {sensor}",
    }
    values.update(fields)
    return AlertRule.objects.create(**values)


def send(rx, sensor, minute, value, quantity="water_level"):
    """One reading, as one MQTT message would bring it."""
    item = {"sensor": sensor, "quantity": quantity, "time": (T0 + timedelta(minutes=minute)).isoformat(),
            "value": value}
    result = ingest(city=rx.city, source=rx.source, items=[item])
    assert result.accepted == 1, result
    return result


def lv(threshold, severity):
    return {"threshold": threshold, "severity": severity}


def warnings_of(rule):
    return list(PublicWarning.objects.filter(rule=rule).order_by("pk"))


def messages_of(warning):
    return list(
        CapMessage.objects.filter(warning=warning).order_by("version").values_list("msg_type", flat=True)
    )


def test_a_sustained_breach_raises_one_warning_after_the_duration_not_before(rx):
    rule = make_rule(rx, duration_minutes=10)
    for minute in range(10):  # minutes 0…9: above 1.5, but not yet for ten minutes
        send(rx, "WL-A", minute, 1.6 + minute / 100)
        assert warnings_of(rule) == [], minute
    send(rx, "WL-A", 10, 1.7)
    [warning] = warnings_of(rule)
    assert warning.status == PublicWarning.Status.PUBLISHED and warning.severity == "Severe"
    assert warning.source == PublicWarning.Source.RULE
    assert warning.trigger["sensor"] == "WL-A" and warning.trigger["quantity"] == "water_level"
    assert warning.trigger["value"] == pytest.approx(1.7) and warning.trigger["threshold"] == 1.5
    assert warning.trigger["level"] == 1
    assert datetime.fromisoformat(warning.trigger["time"]) == T0 + timedelta(minutes=10)
    assert messages_of(warning) == ["Alert"]
    for minute in range(11, 15):  # still high: the same warning, no new message
        send(rx, "WL-A", minute, 1.8)
    assert warnings_of(rule) == [warning] and messages_of(warning) == ["Alert"]


def test_a_dip_restarts_the_duration(rx):
    rule = make_rule(rx, duration_minutes=10)
    for minute in range(8):
        send(rx, "WL-A", minute, 1.6)
    send(rx, "WL-A", 8, 1.4)  # below: the ten minutes start again
    for minute in range(9, 19):
        send(rx, "WL-A", minute, 1.6)
    assert warnings_of(rule) == []  # minutes 9…18 are nine minutes
    send(rx, "WL-A", 19, 1.6)
    assert len(warnings_of(rule)) == 1


def test_a_value_hovering_at_the_threshold_does_not_flap(rx):
    rule = make_rule(rx, hysteresis=0.2)
    for minute, value in enumerate([1.55, 1.45, 1.52, 1.38, 1.6, 1.31, 1.5, 1.44]):
        send(rx, "WL-A", minute, value)
    [warning] = warnings_of(rule)
    assert messages_of(warning) == ["Alert"] and warning.status == PublicWarning.Status.PUBLISHED
    send(rx, "WL-A", 10, 1.29)  # below 1.5 − 0.2: all clear
    warning.refresh_from_db()
    assert warning.status == PublicWarning.Status.ENDED
    assert messages_of(warning) == ["Alert", "Cancel"]


def test_without_hysteresis_the_same_values_would_flap(rx):
    rule = make_rule(rx, hysteresis=0.0)
    for minute, value in enumerate([1.55, 1.45, 1.52]):
        send(rx, "WL-A", minute, value)
    assert len(warnings_of(rule)) == 2  # raised, ended, raised again: what the hysteresis prevents


def test_escalation_updates_and_falling_back_ends(rx):
    rule = make_rule(rx, levels=[{"threshold": 1.0, "severity": "Moderate"},
                                 {"threshold": 1.5, "severity": "Severe"},
                                 {"threshold": 2.0, "severity": "Extreme"}], hysteresis=0.1)
    send(rx, "WL-A", 0, 1.2)
    [warning] = warnings_of(rule)
    assert warning.severity == "Moderate" and warning.trigger["level"] == 1
    send(rx, "WL-A", 1, 2.1)  # straight to the top level
    warning.refresh_from_db()
    assert warning.severity == "Extreme" and warning.trigger["level"] == 3
    assert warning.trigger["threshold"] == 2.0
    send(rx, "WL-A", 2, 1.95)  # within the hysteresis of level 3: unchanged
    send(rx, "WL-A", 3, 1.7)  # level 2
    warning.refresh_from_db()
    assert warning.severity == "Severe" and warning.trigger["level"] == 2
    send(rx, "WL-A", 4, 0.5)
    warning.refresh_from_db()
    assert warning.status == PublicWarning.Status.ENDED
    assert messages_of(warning) == ["Alert", "Update", "Update", "Cancel"]
    assert warnings_of(rule) == [warning]


def test_a_rule_edited_to_fewer_levels_keeps_working(rx):
    rule = make_rule(rx, levels=[lv(1.0, "Moderate"), lv(1.5, "Severe")])
    send(rx, "WL-A", 0, 1.7)
    rule.levels = [lv(1.0, "Moderate")]
    rule.save()
    send(rx, "WL-A", 1, 1.8)
    [warning] = warnings_of(rule)
    assert warning.severity == "Moderate" and warning.trigger["level"] == 1
    assert messages_of(warning) == ["Alert", "Update"]


def test_the_warning_follows_the_worst_sensor_of_the_area(rx):
    rule = make_rule(rx, levels=[{"threshold": 1.0, "severity": "Moderate"},
                                 {"threshold": 1.5, "severity": "Severe"}])
    send(rx, "WL-A", 0, 1.7)
    send(rx, "WL-B", 0, 1.2)
    [warning] = warnings_of(rule)
    assert warning.severity == "Severe"
    send(rx, "WL-A", 1, 0.4)  # A is fine, B still at level 1
    warning.refresh_from_db()
    assert warning.severity == "Moderate" and warning.trigger["sensor"] == "WL-B"
    assert warning.status == PublicWarning.Status.PUBLISHED
    send(rx, "WL-B", 1, 0.4)
    warning.refresh_from_db()
    assert warning.status == PublicWarning.Status.ENDED
    assert messages_of(warning) == ["Alert", "Update", "Cancel"]


def test_a_rule_on_the_hourly_mean_of_pm25(rx):
    rule = make_rule(rx, name="PM2.5", category=rx.air, quantity_code="pm25", statistic="hourly_mean",
                     levels=[{"threshold": 55.0, "severity": "Moderate"}])
    for minute, value in enumerate([40.0, 60.0, 62.0]):  # means 40, 50, 54
        send(rx, "AQ-A", minute * 5, value, quantity="pm25")
    assert warnings_of(rule) == []
    send(rx, "AQ-A", 15, 70.0, quantity="pm25")  # mean 58
    [warning] = warnings_of(rule)
    assert warning.trigger["value"] == pytest.approx(58.0)
    assert warning.trigger["quantity"] == "pm25"
    # A single high reading of a later hour is that hour's mean.
    send(rx, "AQ-A", 65, 20.0, quantity="pm25")
    warning.refresh_from_db()
    assert warning.status == PublicWarning.Status.ENDED


def test_a_batch_of_many_readings_is_taken_in_time_order(rx):
    rule = make_rule(rx, duration_minutes=10)
    items = [{"sensor": "WL-A", "quantity": "water_level", "time": (T0 + timedelta(minutes=m)).isoformat(),
              "value": 1.6} for m in range(12)]
    ingest(city=rx.city, source=rx.source, items=items[::-1])  # sent newest first
    [warning] = warnings_of(rule)
    assert datetime.fromisoformat(warning.trigger["time"]) == T0 + timedelta(minutes=10)


def test_a_polygon_area_counts_the_sensors_inside_it_only(rx):
    rule = make_rule(rx, polygon=rx.polygon_a, commune_codes=[rx.commune_a.code])
    send(rx, "WL-B", 0, 3.0)  # outside the polygon
    assert warnings_of(rule) == []
    send(rx, "WL-A", 0, 3.0)
    [warning] = warnings_of(rule)
    assert warning.trigger["sensor"] == "WL-A"
    assert not RuleSensorState.objects.filter(rule=rule, sensor_id=rx.wl_b.pk).exists()


def test_a_commune_area_counts_the_sensors_of_its_communes_only(rx):
    rule = make_rule(rx, commune_codes=[rx.commune_b.code])
    assert rx.wl_b.commune_id == rx.commune_b.code
    send(rx, "WL-A", 0, 3.0)
    assert warnings_of(rule) == []
    send(rx, "WL-B", 0, 3.0)
    assert warnings_of(rule)[0].trigger["sensor"] == "WL-B"


def test_rules_of_another_quantity_or_inactive_rules_are_ignored(rx):
    make_rule(rx, quantity_code="pm25", levels=[{"threshold": 1.0, "severity": "Minor"}])
    make_rule(rx, is_active=False)
    send(rx, "WL-A", 0, 3.0)
    assert PublicWarning.objects.count() == 0 and RuleSensorState.objects.count() == 0


def test_late_data_is_stored_but_does_not_move_the_state(rx):
    rule = make_rule(rx)
    send(rx, "WL-A", 10, 1.0)
    send(rx, "WL-A", 5, 2.0)  # older than what the rule has seen
    assert warnings_of(rule) == []
    assert Observation.objects.filter(sensor_id=rx.wl_a.pk).count() == 2
    state = RuleSensorState.objects.get(rule=rule, sensor_id=rx.wl_a.pk)
    assert (state.level, state.last_time, state.last_value) == (0, T0 + timedelta(minutes=10), 1.0)


def test_a_resent_batch_changes_nothing(rx):
    rule = make_rule(rx)
    send(rx, "WL-A", 0, 2.0)
    send(rx, "WL-A", 1, 1.0)
    item = {"sensor": "WL-A", "quantity": "water_level", "time": T0.isoformat(), "value": 2.0}
    assert ingest(city=rx.city, source=rx.source, items=[item]).duplicates == 1
    [warning] = warnings_of(rule)
    assert warning.status == PublicWarning.Status.ENDED and messages_of(warning) == ["Alert", "Cancel"]


def test_a_failing_rule_never_loses_the_observations(rx, monkeypatch):
    from dothi.alerts import services

    rule = make_rule(rx)

    def broken(**kwargs):
        raise RuntimeError("the CAP renderer broke")

    monkeypatch.setattr(services, "rule_warning_raise", broken)
    send(rx, "WL-A", 0, 3.0)
    assert Observation.objects.filter(sensor_id=rx.wl_a.pk).count() == 1
    assert warnings_of(rule) == []
    # The rule's own work was undone with it: the next reading tries again.
    assert not RuleSensorState.objects.filter(rule=rule, level__gt=0).exists()
    monkeypatch.undo()
    send(rx, "WL-A", 1, 3.0)
    assert len(warnings_of(rule)) == 1


def test_the_bulk_api_goes_through_the_rules(rx):
    from dothi.sensing.keys import ingest_key_issue

    rule = make_rule(rx, duration_minutes=5)
    _key, plaintext = ingest_key_issue(actor=None, city=rx.city, name=rx.source.name)
    body = {"observations": [
        {"sensor": "WL-A", "quantity": "water_level", "time": (T0 + timedelta(minutes=m)).isoformat(),
         "value": 1.9} for m in range(6)
    ]}
    headers = {"Authorization": f"Bearer {plaintext}"}
    response = Client().post("/api/v1/sensing/observations", orjson.dumps(body),
                             content_type="application/json", headers=headers)
    assert response.status_code == 200, response.content
    [warning] = warnings_of(rule)
    assert datetime.fromisoformat(warning.trigger["time"]) == T0 + timedelta(minutes=5)


def test_a_new_rule_or_sensor_takes_effect_at_once(rx):
    from dothi.sensing import services

    send(rx, "WL-A", 0, 1.0)  # compiles the city's (empty) rules
    rule = make_rule(rx)  # the save clears the compiled copy
    send(rx, "WL-A", 1, 2.0)
    assert len(warnings_of(rule)) == 1
    services.sensor_register(actor=None, city=rx.city, code="WL-NEW", name="new", kind="water",
                             lat=rx.point_b[0], lon=rx.point_b[1], quantities=["water_level"])
    send(rx, "WL-NEW", 1, 2.0)
    assert RuleSensorState.objects.filter(rule=rule, level=1).count() == 2


def test_the_alerts_manifest_registers_the_rules_once():
    assert len(_alerts_listeners()) == 1


def test_a_batch_no_rule_reads_costs_no_query(rx, django_assert_num_queries):
    make_rule(rx, commune_codes=[rx.commune_b.code])
    from dothi.sensing import catalogue

    cat = catalogue.for_city(rx.city)
    rules.compiled_for(rx.city.pk)
    pm25 = cat.quantities["pm25"].id
    water = cat.quantities["water_level"].id
    batch = AcceptedBatch(city=rx.city, source=rx.source, catalogue=cat, rows=[
        (rx.aq_a.pk, pm25, T0 + timedelta(seconds=i), 99.0) for i in range(1000)
    ] + [(rx.wl_a.pk, water, T0, 9.0)])  # water, but outside the rule's area
    with django_assert_num_queries(0):
        rules.on_observations(batch)


# --- Validation ----------------------------------------------------------------------------------------


def _errors(rule) -> dict:
    with pytest.raises(ValidationError) as caught:
        rules.rule_clean(rule)
    return caught.value.message_dict


def test_rule_clean_accepts_a_good_rule_and_fills_the_polygon_communes(rx):
    rule = AlertRule(city=rx.city, name="r", category=rx.flood, quantity_code="water_level", operator=">=",
                     levels=[lv(1, "Moderate"), lv(1.5, "Severe")], hysteresis=0.1,
                     headline_vi="Ngập", polygon=rx.polygon_a)
    assert rules.rule_clean(rule) is rule
    assert rx.commune_a.code in rule.commune_codes
    assert rule.levels[0] == {"threshold": 1.0, "severity": "Moderate"}


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"quantity_code": "no_such_thing"}, "quantity_code"),
        ({"levels": []}, "levels"),
        ({"levels": [lv(2, "Severe"), lv(1, "Extreme")]}, "levels"),
        ({"levels": [lv(1, "Severe"), lv(2, "Minor")]}, "levels"),
        ({"levels": [{"threshold": "high", "severity": "Severe"}]}, "levels"),
        ({"levels": [{"threshold": 1, "severity": "Awful"}]}, "levels"),
        ({"operator": "<=", "levels": [lv(1, "Minor"), lv(2, "Severe")]}, "levels"),
        ({"hysteresis": -0.1}, "hysteresis"),
        ({"headline_vi": "  "}, "headline_vi"),
        ({"commune_codes": ["99999"]}, "commune_codes"),
        ({"polygon": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}},
         "polygon"),  # crosses itself
        ({"polygon": {"type": "Polygon", "coordinates": [[[2, 2], [2.1, 2], [2.1, 2.1], [2, 2]]]}},
         "polygon"),  # far outside the city
    ],
)
def test_rule_clean_refuses_bad_rules(rx, fields, field):
    values = {"city": rx.city, "name": "r", "category": rx.flood, "quantity_code": "water_level",
              "operator": ">=", "levels": [{"threshold": 1.5, "severity": "Severe"}], "headline_vi": "Ngập"}
    values.update(fields)
    errors = _errors(AlertRule(**values))
    assert field in errors and all(message.strip() for message in errors[field])


def test_rule_clean_speaks_the_users_language(rx):
    from django.utils import translation

    rule = AlertRule(city=rx.city, name="r", category=rx.flood, quantity_code="water_level", levels=[],
                     headline_vi="x")
    with translation.override("en"):
        assert "at least one level" in _errors(rule)["levels"][0]


def test_a_falling_rule_warns_below_its_thresholds(rx):
    rule = make_rule(rx, quantity_code="water_level", operator="<=", hysteresis=0.1,
                     levels=[lv(0.5, "Moderate"), lv(0.2, "Severe")])
    rules.rule_clean(rule)
    send(rx, "WL-A", 0, 0.45)
    [warning] = warnings_of(rule)
    assert warning.severity == "Moderate"
    send(rx, "WL-A", 1, 0.55)  # within the hysteresis (0.5 + 0.1)
    send(rx, "WL-A", 2, 0.1)
    warning.refresh_from_db()
    assert warning.severity == "Severe"
    send(rx, "WL-A", 3, 0.7)
    warning.refresh_from_db()
    assert warning.status == PublicWarning.Status.ENDED


# --- PostgreSQL: concurrent batches -------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_raise_one_warning(rx):
    rule = make_rule(rx)
    batches = [
        [{"sensor": code, "quantity": "water_level", "time": (T0 + timedelta(minutes=m)).isoformat(),
          "value": 2.0} for m in range(3)]
        for code in ("WL-A", "WL-B", "WL-A", "WL-B")
    ]
    barrier = threading.Barrier(len(batches))
    errors = []

    def run(items):
        try:
            barrier.wait()
            ingest(city=rx.city, source=rx.source, items=items)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(b,)) for b in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    [warning] = warnings_of(rule)
    assert messages_of(warning) == ["Alert"]
    assert RuleSensorState.objects.filter(rule=rule, level=1).count() == 2
    assert Observation.objects.count() == 6
