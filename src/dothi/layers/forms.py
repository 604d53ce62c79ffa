"""Forms of the staff pages of spatial layers: a layer's metadata (create, edit), uploading an import,
and uploading population per commune. They only shape input for the services, which validate (the code
unique in the city, the schema's attributes, every feature of a file); what a service refuses is shown
next to the field it names."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from dothi.core.forms import StyledForm
from dothi.layers.models import Cadence, GeometryKind, LayerImport, LayerRole, Sector

MAX_SCHEMA_CHARS = 50_000
SCHEMA_HELP = _(
    'A JSON list, one object per attribute: {"code": "ten", "label_vi": "Tên", "label_en": "Name", '
    '"type": "str", "required": true} (type: str, int, float, bool or date; "choices" optional).'
)


class LayerForm(StyledForm):
    code = forms.SlugField(
        label=_("Code"),
        max_length=60,
        help_text=_("Lower-case letters, digits and dashes; it is in the layer's address."),
    )
    name_vi = forms.CharField(label=_("Name (Vietnamese)"), max_length=200)
    name_en = forms.CharField(label=_("Name (English)"), max_length=200, required=False)
    description_vi = forms.CharField(
        label=_("Description (Vietnamese)"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    description_en = forms.CharField(
        label=_("Description (English)"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    sector = forms.ChoiceField(label=_("Sector"), choices=Sector.choices, initial=Sector.OTHER)
    role = forms.ChoiceField(
        label=_("Role"),
        choices=LayerRole.choices,
        required=False,
        help_text=_("Official commune boundaries re-assign every located point when imported."),
    )
    owner = forms.ChoiceField(label=_("Owner agency"), required=False)
    cadence = forms.ChoiceField(label=_("Update cadence"), choices=Cadence.choices, initial=Cadence.IRREGULAR)
    licence = forms.CharField(label=_("Licence"), max_length=60, initial="CC-BY-4.0")
    is_public = forms.BooleanField(
        label=_("Public"),
        required=False,
        help_text=_("Public layers are on the public map and in open data."),
    )
    geometry_kind = forms.ChoiceField(
        label=_("Geometry"), choices=GeometryKind.choices, initial=GeometryKind.ANY
    )
    schema = forms.CharField(
        label=_("Attribute schema"),
        required=False,
        max_length=MAX_SCHEMA_CHARS,
        widget=forms.Textarea(attrs={"rows": 6, "class": "form-control font-monospace"}),
        help_text=SCHEMA_HELP,
    )
    name_attribute = forms.CharField(
        label=_("Name attribute"),
        max_length=60,
        required=False,
        help_text=_("The attribute shown as a feature's title and found by the search."),
    )
    colour = forms.CharField(
        label=_("Colour"), max_length=7, initial="#3366cc", widget=forms.TextInput(attrs={"type": "color"})
    )
    order = forms.IntegerField(label=_("Order"), min_value=0, max_value=100_000, initial=100, required=False)

    def __init__(self, *args, owners=(), editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [("", _("None"))] + [(o.code, o.name) for o in owners]
        self._owners = {o.code: o for o in owners}
        self.fields["colour"].widget.attrs["class"] = "form-control form-control-color"
        if editing:
            # The code is the layer's address: it is shown, not changed.
            del self.fields["code"]
        else:
            del self.fields["order"]

    def clean_schema(self) -> list[dict[str, Any]]:
        text = (self.cleaned_data.get("schema") or "").strip()
        if not text:
            return []
        try:
            value = json.loads(text)
        except ValueError:
            raise forms.ValidationError(_("The schema is not valid JSON."))
        if not isinstance(value, list) or not all(isinstance(a, dict) for a in value):
            raise forms.ValidationError(_("The schema must be a JSON list of objects."))
        return value

    def clean_colour(self) -> str:
        colour = (self.cleaned_data.get("colour") or "").strip()
        if len(colour) != 7 or colour[0] != "#" or any(c not in "0123456789abcdefABCDEF" for c in colour[1:]):
            raise forms.ValidationError(_("Choose a colour like #3366cc."))
        return colour.lower()

    def service_fields(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["owner"] = self._owners.get(data.get("owner") or "")
        data["role"] = data.get("role") or ""
        if data.get("order") is None:
            data.pop("order", None)
        data.pop("code", None)
        return data

    @staticmethod
    def initial_for(layer) -> dict[str, Any]:
        return {
            "name_vi": layer.name_vi,
            "name_en": layer.name_en,
            "description_vi": layer.description_vi,
            "description_en": layer.description_en,
            "sector": layer.sector,
            "role": layer.role,
            "owner": layer.owner.code if layer.owner_id else "",
            "cadence": layer.cadence,
            "licence": layer.licence,
            "is_public": layer.is_public,
            "geometry_kind": layer.geometry_kind,
            "schema": json.dumps(layer.schema or [], ensure_ascii=False, indent=1),
            "name_attribute": layer.name_attribute,
            "colour": layer.colour,
            "order": layer.order,
        }


class ImportForm(StyledForm):
    file = forms.FileField(
        label=_("File"),
        help_text=_(
            "GeoJSON (.geojson, .json), CSV with coordinates (.csv) or a zipped Shapefile (.zip); "
            "at most 50 MB."
        ),
    )
    format = forms.ChoiceField(
        label=_("Format"),
        required=False,
        choices=[("", _("From the file name")), *LayerImport.Format.choices],
    )
    mode = forms.ChoiceField(
        label=_("Mode"), choices=LayerImport.Mode.choices, initial=LayerImport.Mode.REPLACE
    )
    srid = forms.IntegerField(
        label=_("Coordinate system (EPSG)"),
        required=False,
        min_value=1,
        max_value=999_999,
        help_text=_("Empty: from the file, else WGS84 (4326). VN-2000: e.g. 9210 or 5899."),
    )
    lon_column = forms.CharField(
        label=_("Longitude (or x) column"),
        required=False,
        max_length=60,
        help_text=_("CSV only, when the columns are not lon/lat, x/y or kinh_do/vi_do."),
    )
    lat_column = forms.CharField(label=_("Latitude (or y) column"), required=False, max_length=60)


class PopulationForm(StyledForm):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "Columns ma_xa (commune code), nam (year), dan_so (population), optionally so_ho (households); "
            "or commune_code, year, population, households."
        ),
    )
    year = forms.IntegerField(
        label=_("Year"),
        required=False,
        min_value=1900,
        max_value=2100,
        help_text=_("When the file has no year column."),
    )
    source = forms.CharField(
        label=_("Source"),
        required=False,
        max_length=200,
        help_text=_("For example the statistics office's yearbook."),
    )
