"""The layers' reads: visibility of internal layers, bounding-box queries (features reaching into the
box from outside it, the 5,000 cap, the cursor), attribute filters on JSON properties (both databases),
features by commune, the GeoJSON text (the stored geometry served as it is), the streamed export, the
accent-insensitive place search, population, the ward summary and the control centre's catalogue."""

from __future__ import annotations

import json

import pytest

from dothi.core.errors import InvalidInput, NotFound
from dothi.core.manifests import registry
from dothi.core.models import Commune
from dothi.layers import selectors
from dothi.layers.models import CommunePopulation, Feature, LayerImport
from tests.layers.conftest import FEATURE_ORIGIN

pytestmark = pytest.mark.django_db
STAFF = {"agency_staff", "agency_manager", "operator", "council_member", "city_admin", "platform_admin"}


@pytest.fixture
def two_layers(layers_city, make_layer):
    public = make_layer(
        layers_city, code="schools", sector="schools", name_vi="Trường học", name_en="Schools"
    )
    internal = make_layer(
        layers_city,
        code="pipes",
        sector="water",
        name_vi="Ống cấp nước",
        name_en="Water pipes",
        is_public=False,
        geometry_kind="line",
    )
    return public, internal


def test_catalogue_shows_internal_layers_to_staff_only(two_layers, cast):
    public, internal = two_layers
    for role, user in cast.items():
        codes = [layer.code for layer in selectors.catalogue(public.city, user=user)]
        if role in STAFF:
            assert codes == ["pipes", "schools"] or set(codes) == {"pipes", "schools"}, role
            assert selectors.layer_by_code(public.city, "pipes", user=user) == internal
        else:
            assert codes == ["schools"], role
            with pytest.raises(NotFound):
                selectors.layer_by_code(public.city, "pipes", user=user)
        assert selectors.layer_by_code(public.city, "schools", user=user) == public
    staff = cast["operator"]
    assert [layer.code for layer in selectors.catalogue(public.city, user=staff, sector="water")] == ["pipes"]
    assert [layer.code for layer in selectors.catalogue(public.city, user=staff, q="school")] == ["schools"]
    assert [layer.code for layer in selectors.catalogue(public.city, user=staff, q="nước")] == ["pipes"]
    with pytest.raises(NotFound):
        selectors.layer_by_code(public.city, "nope", user=staff)


def test_catalogue_is_scoped_by_city(two_layers, other_city, make_layer, cast):
    make_layer(other_city, code="hcm-schools")
    assert "hcm-schools" not in [
        layer.code for layer in selectors.catalogue(two_layers[0].city, user=cast["operator"])
    ]
    with pytest.raises(NotFound):
        selectors.layer_by_code(two_layers[0].city, "hcm-schools", user=cast["platform_admin"])


def _fids(page) -> list[str]:
    return [f["id"] for f in json.loads(page.geojson())["features"]]


def test_bbox_finds_features_whose_box_reaches_in_from_outside(layers_city, make_layer, make_features):
    lon0, lat0 = FEATURE_ORIGIN
    layer = make_layer(layers_city, geometry_kind="line")
    # 0.01° long east-west lines starting every 0.01° of longitude: a box over the east end of the first
    # line only overlaps it through its extent, not its start.
    rows = make_features(layer, 3, kind="line", step=0.0125, origin=(lon0, lat0))
    layer.refresh_from_db()
    assert layer.max_feature_width == pytest.approx(0.01)
    first = rows[0]
    box = (first.max_lon - 0.001, lat0 - 0.001, first.max_lon + 0.0005, lat0 + 0.001)
    assert box[0] > first.min_lon  # the line starts west of the box
    assert _fids(selectors.features_bbox(layer, box)) == [first.fid]
    # (A 2 × 2 grid.) A box just north of the first row, south of the second, finds nothing; the whole
    # extent finds every line.
    assert _fids(selectors.features_bbox(layer, (lon0, lat0 + 0.0001, lon0 + 1, lat0 + 0.012))) == []
    assert len(_fids(selectors.features_bbox(layer, (lon0 - 1, lat0 - 1, lon0 + 1, lat0 + 1)))) == 3


def test_bbox_pages_by_cursor_without_gaps_or_repeats(layers_city, make_layer, make_features):
    layer = make_layer(layers_city)
    rows = make_features(layer, 25, properties=lambda i: {"ten": f"Trường {i}"})
    lon0, lat0 = FEATURE_ORIGIN
    box = (lon0 - 0.01, lat0 - 0.01, lon0 + 0.01, lat0 + 0.01)
    seen, cursor, batches = [], None, 0
    while True:
        page = selectors.features_bbox(layer, box, limit=10, cursor=cursor)
        batches += 1
        seen += _fids(page)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert batches == 3 and seen == [r.fid for r in sorted(rows, key=lambda r: r.pk)]
    # The cap: at most 5,000 whatever is asked.
    assert selectors.features_bbox(layer, box, limit=10**6).count == 25


def test_feature_text_is_the_stored_geometry_and_attributes(layers_city, make_layer, make_features):
    layer = make_layer(layers_city)
    make_features(layer, 1, properties={"ten": 'Trường "A" <b>', "so_hs": 420})
    feature = Feature.objects.get(layer=layer)
    text = selectors.features_bbox(layer, (-180, -90, 180, 90)).geojson(next=None)
    collection = json.loads(text)
    assert collection["type"] == "FeatureCollection" and collection["next"] is None
    (item,) = collection["features"]
    assert item == {
        "type": "Feature",
        "id": feature.fid,
        "geometry": json.loads(feature.geometry),
        "properties": {"ten": 'Trường "A" <b>', "so_hs": 420},
    }
    assert feature.geometry in text  # spliced as stored, not re-serialised
    assert json.loads(selectors.feature_geojson(feature)) == item


def test_bad_bbox_is_refused():
    for text in ("", "1,2,3", "a,b,c,d", "10,10,5,20", "0,0,200,10", "nan,0,1,1"):
        with pytest.raises(InvalidInput) as info:
            selectors.parse_bbox(text)
        assert info.value.field == "bbox"
    assert selectors.parse_bbox("108.1,16.0,108.3,16.1") == (108.1, 16.0, 108.3, 16.1)


@pytest.fixture
def schools(layers_city, make_layer, make_features):
    layer = make_layer(
        layers_city,
        schema=[
            {"code": "ten", "label_vi": "Tên", "label_en": "Name", "type": "str"},
            {"code": "so_hs", "label_vi": "Số học sinh", "label_en": "Pupils", "type": "int"},
            {"code": "dien_tich", "label_vi": "Diện tích", "label_en": "Area", "type": "float"},
            {"code": "ban_tru", "label_vi": "Bán trú", "label_en": "Boarding", "type": "bool"},
            {"code": "mo_cua", "label_vi": "Mở cửa", "label_en": "Opened", "type": "date"},
        ],
    )
    make_features(
        layer,
        6,
        properties=lambda i: {
            "ten": f"Trường {i}",
            "so_hs": 100 * i,
            "dien_tich": 1.5 * i,
            "ban_tru": i % 2 == 0,
            "mo_cua": f"20{10 + i}-09-05",
        },
    )
    return layer


def test_attribute_filters_on_json_properties(schools):
    def fids(**filters):
        return _fids(selectors.features_filtered(schools, filters=filters, page_size=100))

    assert fids(ten="Trường 3") == ["f4"]
    assert fids(so_hs="200") == ["f3"]
    assert fids(so_hs__gte="300") == ["f4", "f5", "f6"]
    assert fids(so_hs__gte="100", so_hs__lte="200") == ["f2", "f3"]
    assert fids(dien_tich__lte="3,0") == ["f1", "f2", "f3"]  # a decimal comma
    assert fids(ban_tru="true") == ["f1", "f3", "f5"]
    assert fids(ban_tru="0") == ["f2", "f4", "f6"]
    assert fids(mo_cua__gte="2014-01-01") == ["f5", "f6"]
    assert fids(ten="Nowhere") == []
    for bad in (
        {"khong_co": "1"},
        {"so_hs": "many"},
        {"ten__gte": "a"},
        {"so_hs__in": "1"},
        {"ban_tru": "maybe"},
        {"mo_cua": "5 Sept"},
    ):
        with pytest.raises(InvalidInput) as info:
            fids(**bad)
        assert info.value.field == f"attr.{next(iter(bad))}"


def test_filtered_pages(schools):
    page = selectors.features_filtered(schools, filters={}, page=2, page_size=4)
    assert (page.page, page.num_pages, page.total, _fids(page)) == (2, 2, 6, ["f5", "f6"])
    past = selectors.features_filtered(schools, filters={}, page=9, page_size=4)
    assert past.features == [] and past.total == 6


def test_features_in_commune(layers_city, make_layer, make_features):
    layer = make_layer(layers_city)
    a, b = Commune.objects.filter(province_id="48").order_by("code")[:2]
    make_features(layer, 3, commune=a, fid_prefix="a")
    make_features(layer, 2, commune=b, fid_prefix="b", origin=(108.25, 16.05))
    assert _fids(selectors.features_in_commune(layer, a.code)) == ["a1", "a2", "a3"]
    page = selectors.features_in_commune(layer, b.code, page_size=1)
    assert page.total == 2 and page.num_pages == 2 and _fids(page) == ["b1"]


def test_features_from_params_combines_and_links_the_next_batch(schools):
    found, nxt = selectors.features_from_params(
        schools, {"bbox": "100,10,120,20", "limit": "2", "attr.so_hs__gte": "100"}
    )
    assert _fids(found) == ["f2", "f3"] and nxt["cursor"] == str(found.next_cursor) and nxt["limit"] == "2"
    found, nxt = selectors.features_from_params(schools, nxt)
    assert _fids(found) == ["f4", "f5"]
    found, nxt = selectors.features_from_params(schools, {"page_size": "4"})
    assert found.total == 6 and nxt == {"page_size": "4", "page": "2"}
    for bad in (
        {"page": "0"},
        {"page_size": "5000"},
        {"bbox": "x"},
        {"bbox": "100,10,120,20", "limit": "9999"},
    ):
        with pytest.raises(InvalidInput):
            selectors.features_from_params(schools, bad)


def test_export_streams_every_feature_in_chunks(schools, monkeypatch):
    monkeypatch.setattr(selectors, "EXPORT_CHUNK", 4)
    chunks = list(selectors.layer_geojson_stream(schools))
    assert len(chunks) == 4  # header, 4 + 2 features, footer
    collection = json.loads("".join(chunks))
    assert collection["name"] == schools.code and [f["id"] for f in collection["features"]] == [
        f"f{i}" for i in range(1, 7)
    ]
    empty = json.loads(
        "".join(
            selectors.layer_geojson_stream(
                type(schools).objects.create(city=schools.city, code="empty", name_vi="Trống")
            )
        )
    )
    assert empty["features"] == []


def test_search_is_accent_insensitive_and_respects_visibility(layers_city, make_layer, make_features, cast):
    schools = make_layer(layers_city, code="schools", name_vi="Trường học")
    pipes = make_layer(layers_city, code="pipes", is_public=False)
    make_features(
        schools, 3, names=["Trường Tiểu học Lê Lợi", "Trường THCS Nguyễn Huệ", "Lê Lợi kindergarten"]
    )
    make_features(pipes, 1, names=["Trạm bơm Lê Lợi"])
    labels = [h["label"] for h in selectors.search_places(layers_city, "le loi")]
    # Prefix matches first, then a word of the name; internal layers hidden from the public.
    assert labels == ["Lê Lợi kindergarten", "Trường Tiểu học Lê Lợi"]
    assert [h["label"] for h in selectors.search_places(layers_city, "LÊ LỢI")] == labels
    staff_labels = [
        h["label"] for h in selectors.search_places(layers_city, "le loi", user=cast["agency_staff"])
    ]
    assert set(staff_labels) == {*labels, "Trạm bơm Lê Lợi"}
    hit = selectors.search_places(layers_city, "nguyen hue")[0]
    assert hit["kind"] == "feature" and hit["layer"] == "schools"
    assert hit["layer_name"] == schools.name  # in the active language
    assert len(hit["bbox"]) == 4 and hit["fid"] == "f2"
    assert selectors.search_places(layers_city, "l") == []  # too short


def test_search_finds_communes_by_name(layers_city):
    commune = Commune.objects.filter(province_id="48", name__icontains="Hải Châu").first()
    assert commune is not None
    hits = selectors.search_places(layers_city, "hai chau")
    assert hits[0]["kind"] == "commune" and hits[0]["code"] == commune.code and hits[0]["layer"] is None
    assert hits[0]["bbox"] is not None and hits[0]["lon"] == pytest.approx(commune.centre_lon)


def test_population_latest_year_per_commune(layers_city):
    a, b = Commune.objects.filter(province_id="48").order_by("code")[:2]
    for commune, year, n in ((a, 2023, 1000), (a, 2024, 1100), (b, 2023, 500)):
        CommunePopulation.objects.create(city=layers_city, commune=commune, year=year, population=n)
    latest = selectors.population(layers_city)
    assert {code: (r.year, r.population) for code, r in latest.items()} == {
        a.code: (2024, 1100),
        b.code: (2023, 500),
    }
    assert selectors.population(layers_city, 2023)[a.code].population == 1000
    assert selectors.population(layers_city, 2022) == {}
    assert selectors.population_of(layers_city, a.code) == {
        "population": 1100,
        "households": None,
        "year": 2024,
        "source": "",
    }
    assert selectors.population_of(layers_city, "99999") is None
    assert registry.provided("layers.population")(layers_city, b.code)["population"] == 500


def test_imports_of_newest_first(layers_city, make_layer):
    layer = make_layer(layers_city)
    first = LayerImport.objects.create(
        city=layers_city, layer=layer, format="csv", status="accepted", added=3
    )
    second = LayerImport.objects.create(
        city=layers_city, layer=layer, format="csv", status="rejected", error_at="line 4", error="bad"
    )
    assert list(selectors.imports_of(layer)) == [second, first]


def test_ward_summary_and_ioc_catalogue(two_layers, make_features, cast):
    public, internal = two_layers
    commune = Commune.objects.filter(province_id="48").order_by("code").first()
    make_features(public, 2, commune=commune)
    make_features(internal, 1, commune=commune)
    make_features(public, 4, fid_prefix="elsewhere")
    summary = selectors.ward_summary(public.city, commune)
    assert {(item["label"], item["value"]) for item in summary} == {(public.name, 2), (internal.name, 1)}
    assert summary[0]["url"].startswith("/layers/")
    provided = registry.provided("layers.catalogue")
    entries = provided(public.city, cast["operator"])
    assert [e["code"] for e in entries] == ["pipes", "schools"] or {e["code"] for e in entries} == {
        "pipes",
        "schools",
    }
    entry = next(e for e in entries if e["code"] == "schools")
    assert {"code", "name", "sector", "colour", "geometry_kind", "features_url"} <= set(entry)
    assert entry["features_url"] == "/layers/schools/features.geojson"
    assert [e["code"] for e in provided(public.city, cast["citizen"])] == ["schools"]
