"""Public pages of the spatial layers under /layers/: the city map (a layer switcher grouped by sector,
features loaded by viewport, clustering for point layers, pop-ups with the schema's labels, a place
search box), the catalogue with filters, a layer's page (metadata, attributes, changelog, export), and
the map's data: features by bounding box, the whole layer as GeoJSON, the place search.

Internal layers exist only for staff holding `layers.view_internal`: a 404 to everyone else. Thin: one
selector, a template or the GeoJSON text out. Staff pages are in staff_views.py.
"""

from __future__ import annotations

from django import forms
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_safe

from dothi.core import selectors as core_selectors
from dothi.core.cities import map_centre, page_city
from dothi.core.errors import DomainError, NotFound
from dothi.core.forms import StyledForm
from dothi.core.permissions import can
from dothi.layers import selectors
from dothi.layers.api import export_response, geojson_response
from dothi.layers.models import Sector

CATALOGUE_PAGE_SIZE = 20
CHANGELOG_PAGE_SIZE = 10


def _layer(request, code: str):
    try:
        return selectors.layer_by_code(page_city(request), code, user=request.user)
    except NotFound:
        raise Http404 from None


def _error_json(exc: DomainError) -> JsonResponse:
    status = exc.status if 400 <= exc.status < 500 else 400
    return JsonResponse(exc.as_dict(), status=status)


def map_config(layers) -> list[dict]:
    """What the map script needs of each layer (read through json_script, never inline)."""
    return [
        {
            "code": layer.code,
            "name": layer.name,
            "sector": layer.sector,
            "sector_label": str(layer.get_sector_display()),
            "colour": layer.colour,
            "geometry_kind": layer.geometry_kind,
            "is_public": layer.is_public,
            "feature_count": layer.feature_count,
            "name_attribute": layer.name_attribute,
            "attributes": selectors.schema_labels(layer),
            "features_url": reverse("layers:features", args=[layer.code]),
            "url": reverse("layers:detail", args=[layer.code]),
        }
        for layer in layers
    ]


def _groups(layers) -> list[dict]:
    """Layers grouped by sector, the groups in the order of their first layer."""
    groups: dict[str, dict] = {}
    for layer in layers:
        group = groups.setdefault(
            layer.sector, {"sector": layer.sector, "label": layer.get_sector_display(), "layers": []}
        )
        group["layers"].append(layer)
    return list(groups.values())


@require_safe
def map_page(request):
    city = page_city(request)
    layers = list(selectors.catalogue(city, user=request.user))
    wanted = [c for c in request.GET.get("layers", "").split(",") if c]
    known = {layer.code for layer in layers}
    shown = [c for c in wanted if c in known] or [layer.code for layer in layers[:1]]
    return render(
        request,
        "layers/map.html",
        {
            "groups": _groups(layers),
            "layers": layers,
            "shown": shown,
            "config": {"layers": map_config(layers), "shown": shown},
            "centre": map_centre(city),
            "communes_url": reverse("api:communes_geojson"),
            "search_url": reverse("layers:search"),
            "catalogue_url": reverse("layers:catalogue"),
        },
    )


class CatalogueFilter(StyledForm):
    q = forms.CharField(label=gettext_lazy("Name"), required=False, max_length=100)
    sector = forms.ChoiceField(label=gettext_lazy("Sector"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sector"].choices = [("", _("All sectors")), *Sector.choices]


@require_safe
def catalogue_page(request):
    city = page_city(request)
    form = CatalogueFilter(request.GET or None)
    sector = q = None
    if form.is_bound and form.is_valid():
        sector = form.cleaned_data["sector"] or None
        q = form.cleaned_data["q"] or None
    qs = selectors.catalogue(city, user=request.user, sector=sector, q=q)
    page = Paginator(qs, CATALOGUE_PAGE_SIZE).get_page(request.GET.get("page"))
    query = urlencode({k: v for k, v in (("q", q), ("sector", sector)) if v})
    return render(
        request,
        "layers/catalogue.html",
        {
            "form": form,
            "page": page,
            "query": query,
            "filtered": bool(sector or q),
            "map_url": reverse("layers:map"),
        },
    )


@require_safe
def layer_detail(request, code: str):
    layer = _layer(request, code)
    changelog = Paginator(selectors.imports_of(layer), CHANGELOG_PAGE_SIZE).get_page(request.GET.get("page"))
    communes = {}
    if layer.role == "communes":
        communes = {c.code: c.name for c in core_selectors.communes_of_city(layer.city).only("code", "name")}
    return render(
        request,
        "layers/detail.html",
        {
            "layer": layer,
            "attributes": [
                {**a, "required": bool(spec.get("required")), "choices": spec.get("choices") or []}
                for a, spec in zip(
                    selectors.schema_labels(layer),
                    [s for s in (layer.schema or []) if isinstance(s, dict) and s.get("code")],
                    strict=True,
                )
            ],
            "changelog": changelog,
            "communes": communes,
            "map_url": reverse("layers:map") + f"?layers={layer.code}",
            "export_url": reverse("layers:export", args=[layer.code]),
            "api_url": reverse("api:get_layer", kwargs={"code": layer.code}),
            "may_edit": request.user.is_authenticated and can(request.user, "layers.manage", layer.city),
        },
    )


@require_safe
def features_geojson(request, code: str):
    """The layer's features for the map: `bbox` (≤ 5,000, `next` by cursor), else paginated; the same
    parameters as the API's /features."""
    layer = _layer(request, code)
    try:
        found, next_params = selectors.features_from_params(layer, request.GET)
    except DomainError as exc:
        return _error_json(exc)
    return geojson_response(request, found, next_params)


@require_safe
def export_geojson(request, code: str):
    return export_response(_layer(request, code))


@require_safe
def search_json(request):
    """Places for the map's search box: {"results": [{"label", "kind", "lon", "lat", "bbox", "layer"}]}."""
    city = page_city(request)
    q = request.GET.get("q", "")[:100]
    response = JsonResponse({"results": selectors.search_places(city, q, user=request.user)})
    response["Cache-Control"] = "private, max-age=30"
    return response
