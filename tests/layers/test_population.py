"""population_import: CSV with Vietnamese or English headers, all or nothing, line numbers in errors."""

import pytest
from django.core.exceptions import PermissionDenied

from dothi.core.errors import InvalidInput
from dothi.core.models import AuditEvent
from dothi.layers import services
from dothi.layers.models import CommunePopulation
from tests.layers import files

pytestmark = pytest.mark.django_db


def _rows(city):
    return sorted(
        CommunePopulation.objects.filter(city=city).values_list(
            "commune_id", "year", "population", "households"
        )
    )


def test_vietnamese_headers_semicolons_and_grouped_numbers(layers_city, cast):
    data = files.csv_bytes(
        ["ma_xa", "nam", "dan_so", "so_ho"],
        [["20242", "2024", "85.123", "21.000"], ["20209", "2024", "60000", ""]],
        delimiter=";",
        bom=True,
    )
    n = services.population_import(
        actor=cast["city_admin"], city=layers_city, data=data, filename="ds.csv", source="Cục Thống kê"
    )
    assert n == 2
    assert _rows(layers_city) == [("20209", 2024, 60000, None), ("20242", 2024, 85123, 21000)]
    assert CommunePopulation.objects.filter(source="Cục Thống kê").count() == 2
    assert AuditEvent.objects.filter(object_type="layers.communepopulation").exists()


def test_english_headers_year_argument_and_update(layers_city, cast):
    services.population_import(
        actor=cast["city_admin"],
        city=layers_city,
        filename="a.csv",
        year=2023,
        data=files.csv_bytes(["commune_code", "population"], [["20242", "80000"]]),
    )
    services.population_import(
        actor=cast["city_admin"],
        city=layers_city,
        filename="b.csv",
        year=2023,
        data=files.csv_bytes(["commune_code", "population", "households"], [["20242", "81000", "20000"]]),
    )
    assert _rows(layers_city) == [("20242", 2023, 81000, 20000)]


@pytest.mark.parametrize(
    ("rows", "line", "words"),
    [
        ([["20242", "2024", "85000"], ["99999", "2024", "1"]], 3, "99999"),
        ([["20242", "2024", "85000"], ["20209", "2024", "nhiều"]], 3, "nhiều"),
        ([["20242", "2024", "85000"], ["20209", "năm", "1"]], 3, "năm"),
        ([["20242", "2024", "85000"], ["20209", "1800", "1"]], 3, "1900"),
        ([["20242", "2024", "85000"], ["20242", "2024", "86000"]], 3, "twice"),
        ([["20242", "2024", "85000"], ["20209", "2024"]], 3, "columns"),
        ([["20242", "2024", "-5"]], 2, "-5"),
    ],
)
def test_a_bad_line_rejects_the_whole_file(layers_city, cast, rows, line, words):
    services.population_import(
        actor=cast["city_admin"],
        city=layers_city,
        filename="ok.csv",
        data=files.csv_bytes(["ma_xa", "nam", "dan_so"], [["20242", "2020", "1"]]),
    )
    before = _rows(layers_city)
    with pytest.raises(InvalidInput) as exc:
        services.population_import(
            actor=cast["city_admin"],
            city=layers_city,
            filename="bad.csv",
            data=files.csv_bytes(["ma_xa", "nam", "dan_so"], rows),
        )
    assert exc.value.message.startswith(f"Line {line}:") and words in exc.value.message
    assert exc.value.extra["where"] == f"line {line}"
    assert _rows(layers_city) == before


def test_header_and_encoding_errors(layers_city, cast):
    admin = cast["city_admin"]
    with pytest.raises(InvalidInput) as exc:
        services.population_import(
            actor=admin,
            city=layers_city,
            filename="a.csv",
            data=files.csv_bytes(["ma_xa", "dan_so"], [["20242", "1"]]),
        )
    assert "nam" in exc.value.message
    with pytest.raises(InvalidInput) as exc:
        services.population_import(
            actor=admin,
            city=layers_city,
            filename="a.csv",
            year=2024,
            data=files.csv_bytes(["ma_xa", "people"], [["20242", "1"]]),
        )
    assert "dan_so" in exc.value.message
    with pytest.raises(InvalidInput) as exc:
        services.population_import(
            actor=admin,
            city=layers_city,
            filename="a.csv",
            year=2024,
            data="ma_xa,dan_so,ghi_chu\n20242,1,Đà\n".encode("cp1258"),
        )
    assert exc.value.code == "encoding" and "UTF-8" in exc.value.message
    assert not CommunePopulation.objects.exists()


def test_only_city_admins_import_population(layers_city, cast):
    data = files.csv_bytes(["ma_xa", "nam", "dan_so"], [["20242", "2024", "1"]])
    for role in ("operator", "agency_manager", "citizen"):
        with pytest.raises(PermissionDenied):
            services.population_import(actor=cast[role], city=layers_city, data=data, filename="a.csv")
    assert not CommunePopulation.objects.exists()
