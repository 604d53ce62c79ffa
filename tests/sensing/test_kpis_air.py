"""Air-quality KPIs (EN: EN: AQ: 1C: mean PM2.5, PM10, NO2; days above the national 24-hour limit)
from the daily rollups, against hand-computed values: monthly and annual means, ppb → µg/m³, per ward,
the other city left out, empty periods and missing pollutants shown as missing (never 0)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from dothi.core.manifests import Period, registry
from dothi.core.models import Commune, Province
from dothi.sensing import stats
from dothi.sensing.models import DailyRollup, Quantity, Sensor
from tests import factories

pytestmark = pytest.mark.django_db
MARCH = Period(dt.date(2026, 3, 1), dt.date(2026, 4, 1))
YEAR = Period(dt.date(2026, 1, 1), dt.date(2027, 1, 1))


def _commune(code: str, name: str) -> Commune:
    Province.objects.get_or_create(code="48", defaults={"name": "Đà Nẵng", "kind": "thanh-pho",
                                                        "codename": "da_nang"})
    commune, _ = Commune.objects.get_or_create(
        code=code, defaults={"province_id": "48", "name": name, "kind": "phuong", "codename": name.lower()}
    )
    return commune


def _sensor(city, code: str, commune=None) -> Sensor:
    return Sensor.objects.create(city=city, code=code, name=code, kind="air", lat=16.06, lon=108.22,
                                 commune=commune, created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))


def _day(sensor: Sensor, quantity: Quantity, day: dt.date, count: int, mean: float) -> None:
    bucket = dt.datetime.combine(day, dt.time(0), tzinfo=ZoneInfo(sensor.city.time_zone))
    DailyRollup.objects.create(sensor=sensor, quantity=quantity, bucket=bucket, count=count,
                               sum=count * mean, min=mean, max=mean)


@pytest.fixture
def air(city, quantities):
    """Daily rollups (readings × mean):

    | sensor (ward) | quantity      | 1 Mar   | 2 Mar   | 10 Apr  |
    | S1 (20242)    | PM2.5         | 24 × 40 | 12 × 30 | 24 × 20 |
    | S2 (20209)    | PM2.5         | 24 × 70 | 24 × 45 |         |
    | S1 (20242)    | NO2 µg/m³     | 10 × 120|         |         |
    | S3 (none)     | NO2 ppb (city)| 10 × 50 |         |         |
    | other city    | PM2.5         | 24 × 900|         |         |
    """
    s1 = _sensor(city, "S1", _commune("20242", "HaiChau"))
    s2 = _sensor(city, "S2", _commune("20209", "ThanhKhe"))
    s3 = _sensor(city, "S3")
    pm25, no2 = quantities["pm25"], quantities["no2"]
    no2_ppb = Quantity.objects.create(city=city, code="no2", name_vi="NO2 (ppb)", unit="ppb", min_value=0,
                                      max_value=2000)
    march1, march2 = dt.date(2026, 3, 1), dt.date(2026, 3, 2)
    _day(s1, pm25, march1, 24, 40)
    _day(s2, pm25, march1, 24, 70)
    _day(s1, pm25, march2, 12, 30)
    _day(s2, pm25, march2, 24, 45)
    _day(s1, pm25, dt.date(2026, 4, 10), 24, 20)
    _day(s1, no2, march1, 10, 120)
    _day(s3, no2_ppb, march1, 10, 50)
    other = factories.make_city("hcm", name_vi="TP HCM", name_en="HCMC", province_code="79")
    _day(_sensor(other, "X1"), pm25, march1, 24, 900)
    return {"s1": s1, "s2": s2, "s3": s3}


def _kpi(code: str):
    return registry.kpi(code)


def test_conversion_factors():
    assert stats.to_ug_m3("no2", "ppb") == pytest.approx(1.8816, abs=1e-4)  # 46.0055 / 24.45
    assert stats.to_ug_m3("no2", "ppm") == pytest.approx(1881.6, abs=0.1)
    assert stats.to_ug_m3("pm25", "µg/m³") == stats.to_ug_m3("pm25", "ug/m3") == 1.0
    assert stats.to_ug_m3("pm25", "mg/m³") == 1000.0
    assert stats.to_ug_m3("pm25", "ppb") is None  # particulates have no molar mass
    assert stats.AIR_LIMITS_24H == {"pm25": 50.0, "pm10": 100.0, "no2": 100.0}


def test_monthly_and_annual_means(air, city):
    march = _kpi("sensing.mean_pm25").compute(city, MARCH)
    # (24·40 + 24·70 + 12·30 + 24·45) / (24 + 24 + 12 + 24) = 4080 / 84
    assert (march.value, march.numerator, march.denominator) == (48.6, 4080.0, 84)
    assert "29 days without data" in march.note
    year = _kpi("sensing.mean_pm25").compute(city, YEAR)  # (4080 + 480) / 108
    assert (year.value, year.numerator, year.sample_size) == (42.2, 4560.0, 108)


def test_no2_in_ppb_is_converted(air, city):
    value = _kpi("sensing.mean_no2").compute(city, MARCH)
    # 10 readings of 120 µg/m³ and 10 of 50 ppb = 94.0808 µg/m³: (1200 + 940.808) / 20
    assert value.value == 107.0 and value.denominator == 20
    assert value.numerator == pytest.approx(2140.808, abs=0.001)


def test_days_above_the_national_limit(air, city):
    pm25 = _kpi("sensing.days_above_limit_pm25").compute(city, MARCH)
    # 1 March: 2640 / 48 = 55 > 50; 2 March: 1440 / 36 = 40.
    assert (pm25.value, pm25.numerator, pm25.denominator) == (1, 1, 2)
    assert "29 days without data" in pm25.note
    year = _kpi("sensing.days_above_limit_pm25").compute(city, YEAR)  # 10 April: 20
    assert (year.value, year.denominator) == (1, 3)
    no2 = _kpi("sensing.days_above_limit_no2").compute(city, MARCH)  # 107.04 > 100
    assert (no2.value, no2.denominator) == (1, 1)


def test_per_ward_means(air, city):
    wards = _kpi("sensing.mean_pm25").compute_wards(city, MARCH)
    # 20242: (960 + 360) / 36; 20209: (1680 + 1080) / 48; S3 has no ward and no PM2.5.
    by_ward = {c: (v.value, v.sample_size) for c, v in wards.items()}
    assert by_ward == {"20242": (36.7, 36), "20209": (57.5, 48)}
    no2 = _kpi("sensing.mean_no2").compute_wards(city, MARCH)
    assert {c: v.value for c, v in no2.items()} == {"20242": 120.0}


def test_missing_data_is_missing_not_zero(air, city):
    for code in ("sensing.mean_pm10", "sensing.days_above_limit_pm10"):  # no PM10 sensor reported
        value = _kpi(code).compute(city, MARCH)
        assert value.value is None and value.sample_size == 0 and value.note, code
    empty = Period(dt.date(2025, 1, 1), dt.date(2026, 1, 1))
    for kpi in stats.KPIS:
        if kpi.code.startswith(("sensing.mean_", "sensing.days_above")):
            assert kpi.compute(city, empty).value is None, kpi.code
            assert kpi.compute_wards is None or kpi.compute_wards(city, empty) == {}


def test_catalogue_fields_and_availability(air, city):
    for code, component in (("pm25", "PM2.5"), ("pm10", "PM10"), ("no2", "NO2")):
        mean = _kpi(f"sensing.mean_{code}")
        assert (mean.standard_code, mean.component, mean.unit, mean.higher_is_better) == (
            "EN: EN: AQ: 1C", component, "µg/m³", False
        )
        assert mean.method and _kpi(f"sensing.days_above_limit_{code}").method
    # Sensor-days with data (distinct sensor and day over the rollups): S1 1–2 Mar, S2 1–2 Mar, S3 1 Mar.
    availability = _kpi("sensing.data_availability").compute(city, MARCH)
    assert (availability.numerator, availability.denominator, availability.value) == (5, 93, 5.4)
