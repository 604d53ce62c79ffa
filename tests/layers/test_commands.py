"""dothi import-layer, import-population and reassign-points."""

import io

import pytest
from django.core.management import CommandError, call_command

from dothi.layers.models import CommunePopulation, Feature, LayerImport
from dothi.sensing.models import Sensor
from tests.layers import files

pytestmark = pytest.mark.django_db


def _run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_import_layer_prints_a_summary(layers_city, make_layer, tmp_path):
    layer = make_layer(layers_city, code="cho")
    path = tmp_path / "cho.csv"
    path.write_bytes(
        files.csv_bytes(
            ["fid", "x", "y", "ten"],
            [["1", "108.212", "16.06", "Chợ Hàn"], ["2", "108.214", "16.061", "Chợ Cồn"]],
        )
    )
    out = _run("import_layer", "--city", "danang", "--layer", "cho", str(path))
    assert "Imported cho.csv into danang/cho (csv, EPSG:4326, replace): 2 added, 0 updated, 0 removed" in out
    assert Feature.objects.filter(layer=layer).count() == 2
    out = _run("import_layer", "--city", "danang", "--layer", "cho", "--mode", "upsert", str(path))
    assert "0 added, 2 updated" in out


def test_import_layer_with_srid_and_named_columns(layers_city, make_layer, tmp_path):
    make_layer(layers_city, code="cho")
    x, y = files.project(9210, 108.212, 16.06)
    path = tmp_path / "cho.txt"
    path.write_bytes(files.csv_bytes(["dong", "bac", "ten"], [[f"{x:.3f}", f"{y:.3f}", "Chợ Hàn"]]))
    out = _run(
        "import_layer",
        "--city",
        "danang",
        "--layer",
        "cho",
        "--srid",
        "9210",
        "--format",
        "csv",
        "--lon-column",
        "dong",
        "--lat-column",
        "bac",
        str(path),
    )
    assert "EPSG:9210" in out
    assert Feature.objects.get().lon == pytest.approx(108.212, abs=1e-5)


def test_import_layer_rejects_a_bad_file_with_where_and_why(layers_city, make_layer, tmp_path):
    layer = make_layer(layers_city, code="cho")
    path = tmp_path / "cho.geojson"
    path.write_bytes(
        files.geojson_bytes(
            [files.feature(files.point(108.212, 16.06)), files.feature(files.point(*files.OUTSIDE))]
        )
    )
    with pytest.raises(CommandError) as exc:
        _run("import_layer", "--city", "danang", "--layer", "cho", str(path))
    assert "feature 2" in str(exc.value) and "outside the city" in str(exc.value)
    assert LayerImport.objects.get(layer=layer).status == "rejected" and not Feature.objects.exists()


def test_import_layer_exits_1_from_the_command_line(layers_city, make_layer, tmp_path):
    from django.core.management import ManagementUtility

    make_layer(layers_city, code="cho")
    path = tmp_path / "cho.csv"
    path.write_bytes(b"lon,lat\n108.2,abc\n")
    with pytest.raises(SystemExit) as exc:
        ManagementUtility(
            ["dothi", "import_layer", "--city", "danang", "--layer", "cho", str(path)]
        ).execute()
    assert exc.value.code == 1


def test_import_layer_unknown_city_layer_or_file(layers_city, make_layer, tmp_path):
    make_layer(layers_city, code="cho")
    for args in (
        ["--city", "nowhere", "--layer", "cho", "x"],
        ["--city", "danang", "--layer", "nope", "x"],
        ["--city", "danang", "--layer", "cho", str(tmp_path / "missing.csv")],
    ):
        with pytest.raises(CommandError):
            _run("import_layer", *args)


def test_import_population(layers_city, tmp_path):
    path = tmp_path / "dan-so.csv"
    path.write_bytes(files.csv_bytes(["ma_xa", "dan_so"], [["20242", "85000"]]))
    out = _run("import_population", "--city", "danang", "--year", "2024", str(path))
    assert "1 communes" in out and CommunePopulation.objects.get().population == 85000
    path.write_bytes(files.csv_bytes(["ma_xa", "dan_so"], [["20242", "x"]]))
    with pytest.raises(CommandError) as exc:
        _run("import_population", "--city", "danang", "--year", "2024", str(path))
    assert "Line 2" in str(exc.value)


def test_reassign_points(layers_city):
    Sensor.objects.create(city=layers_city, code="A", name="a", kind="air", lat=16.06, lon=108.217)
    out = _run("reassign_points", "--city", "danang")
    assert "Re-assigned 1 points in danang" in out and "sensing.sensor 1" in out
    assert Sensor.objects.get().commune_id is not None
    with pytest.raises(CommandError):
        _run("reassign_points", "--city", "nowhere")
