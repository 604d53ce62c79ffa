"""The shared catalogue: 91 U4SSC KPIs, one platform indicator per calculator, idempotent sync."""

from datetime import date

import pytest
from django.utils import translation

from dothi.core.manifests import registry
from dothi.kpis import catalogue, selectors
from dothi.kpis.models import Indicator, Value

pytestmark = pytest.mark.django_db


def test_fresh_database_has_the_catalogue_after_migrate():
    # The post-migrate signal loaded it when the test database was created.
    shared = Indicator.objects.filter(city__isnull=True, is_active=True)
    assert shared.filter(source=Indicator.Source.U4SSC).count() == 91
    assert shared.filter(source=Indicator.Source.PLATFORM).count() == len({k.code for k in registry.kpis()})


def test_u4ssc_rows_carry_both_languages_and_direction():
    catalogue.sync()
    hia = Indicator.objects.get(city__isnull=True, code="EC: ICT: ICT: 1C")
    assert hia.name_vi == "Hộ gia đình có truy cập Internet"
    assert hia.name_en == "Household Internet Access"
    assert hia.kind == Indicator.Kind.CORE
    assert (hia.dimension, hia.sub_dimension, hia.category) == ("Economy", "ICT", "ICT Infrastructure")
    assert hia.higher_is_better is True
    assert hia.method_vi.startswith("Số hộ gia đình có truy cập Internet")
    air = Indicator.objects.get(city__isnull=True, code="EN: EN: AQ: 1C")
    assert air.higher_is_better is False
    assert "8.1" in air.iso_code
    assert Indicator.objects.get(city__isnull=True, code="EC: ICT: D: 1A").kind == Indicator.Kind.ADVANCED
    # Every U4SSC row has a Vietnamese name that is not the English one.
    rows = Indicator.objects.filter(city__isnull=True, source=Indicator.Source.U4SSC)
    assert not [i.code for i in rows if not i.name_vi or i.name_vi == i.name_en]


def test_platform_rows_follow_their_calculators():
    catalogue.sync()
    for calc in registry.kpis():
        ind = Indicator.objects.get(city__isnull=True, code=calc.code)
        assert ind.calculator == calc.code
        assert ind.per_ward == (calc.compute_wards is not None)
        assert ind.higher_is_better == calc.higher_is_better
        assert ind.standard_code == calc.standard_code
        with translation.override("en"):
            assert ind.name_en == str(calc.name)
    drainage = Indicator.objects.get(city__isnull=True, code="layers.drainage_monitored")
    # A standard code places it under the U4SSC row's dimension; others under "Platform" / the module.
    assert (drainage.dimension, drainage.category) == ("Economy", "Drainage")
    reports = Indicator.objects.get(city__isnull=True, code="reports.resolved_on_time")
    assert reports.dimension == "Platform"
    assert reports.sub_dimension == "Citizen reports"


def test_sync_is_idempotent_restores_names_keeps_values_and_retires_vanished_calculators(city):
    catalogue.sync()
    before = Indicator.objects.count()
    again = catalogue.sync()
    assert (again.created, again.updated, again.deactivated) == (0, 0, 0)
    assert Indicator.objects.count() == before
    hia = Indicator.objects.get(city__isnull=True, code="EC: ICT: ICT: 1C")
    Value.objects.create(city=city, indicator=hia, grain="year", period_start=date(2025, 1, 1),
                         period_end=date(2026, 1, 1), value=80, method="manual", source="GSO")
    Indicator.objects.filter(pk=hia.pk).update(name_vi="changed")
    gone = Indicator.objects.create(code="gone.kpi", source="platform", kind="platform", name_vi="Gone",
                                    calculator="gone.kpi")
    result = catalogue.sync()
    assert (result.created, result.updated, result.deactivated) == (0, 1, 1)
    hia.refresh_from_db()
    gone.refresh_from_db()
    assert hia.name_vi == "Hộ gia đình có truy cập Internet"
    assert Value.objects.filter(indicator=hia).count() == 1
    assert gone.is_active is False
    assert selectors.indicator_by_code(city, "gone.kpi") == gone
    assert not selectors.indicators(city, q="gone.kpi").exists()


def test_dimension_labels_are_translated_texts():
    with translation.override("en"):
        assert catalogue.label("Society and Culture") == "Society and Culture"
        assert catalogue.label("Citizen reports") == "Citizen reports"
        assert catalogue.label("unknown") == "unknown"
    assert catalogue.label("") == ""


def test_command_sync(capsys):
    from django.core.management import call_command

    call_command("kpi", "sync")
    out = capsys.readouterr().out
    assert "91 U4SSC" in out


def test_city_indicator_hides_the_shared_one_of_the_same_code(city, other_city):
    own = Indicator.objects.create(city=city, code="EC: ICT: ICT: 1C", source="city", kind="core",
                                   name_vi="Riêng", dimension="Economy")
    assert selectors.indicator_by_code(city, "EC: ICT: ICT: 1C") == own
    assert selectors.indicator_by_code(other_city, "EC: ICT: ICT: 1C").city_id is None
    codes = list(selectors.indicators(city, q="EC: ICT: ICT: 1C").values_list("city_id", flat=True))
    assert codes == [city.pk]
    assert selectors.indicators(city, source="u4ssc").count() == 90
    assert selectors.indicators(other_city, source="u4ssc").count() == 91
