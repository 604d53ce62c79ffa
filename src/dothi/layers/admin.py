"""Admin screens of the spatial-layers module, each kept inside the administrator's cities.

- Layers are configured here (audited like every admin change). Their attribute schema is edited as
  JSON and checked entry by entry (`schema_errors`), with a message naming the entry and the problem;
  the columns the import service maintains (feature count, bounding box, totals) are read-only.
- Imports are the layer's changelog: read-only, never added or deleted here (an import is made through
  the import service, which validates the file and writes the row).
- Population per commune is city data, editable here (one row per commune and year); the commune must
  be one of the city's.
- Features are read-only (they change only by import), searched by name (accents or not) and feature id,
  filtered by layer.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from dothi.core.admin import AuditedCityAdmin, CityScopedAdmin, admin_cities
from dothi.core.errors import DomainError
from dothi.core.models import City, Commune
from dothi.core.text import fold_key
from dothi.layers import models, validation

SCHEMA_TYPES = ("str", "int", "float", "bool", "date")
SCHEMA_KEYS = {"code", "label_vi", "label_en", "type", "required", "choices"}
# An attribute code is what import files name their columns/properties with, and what filters name as
# `attr.CODE`, `attr.CODE__gte`: so no dot and no double underscore in it.
COLOUR_RE = re.compile(r"^#[0-9A-Fa-f]{6}$")
# Which geometry a role needs (as the services require): drainage is measured in length, the others are
# areas; "any geometry" is allowed where the services allow it (only the areas of it count).
ROLE_GEOMETRY = {
    models.LayerRole.DRAINAGE: (models.GeometryKind.LINE, models.GeometryKind.ANY),
    models.LayerRole.FLOOD_PRONE: (models.GeometryKind.POLYGON, models.GeometryKind.ANY),
    models.LayerRole.COMMUNES: (models.GeometryKind.POLYGON,),
}


def schema_errors(schema: Any) -> list[str]:
    """What is wrong with an attribute schema (empty when it is fine): a list of objects
    `{"code", "label_vi", "label_en", "type", "required", "choices"}` with a unique `code`, a `type` among
    str/int/float/bool/date, `required` true or false, and `choices` (optional) a non-empty list of
    values of that type."""
    if not isinstance(schema, list):
        return [str(_('The schema must be a JSON list of attributes, e.g. [{"code": "ten", …}].'))]
    errors: list[str] = []
    seen: set[str] = set()
    for number, entry in enumerate(schema, start=1):

        def fail(message, number=number, entry=entry) -> None:
            code = entry.get("code") if isinstance(entry, dict) else None
            label = (
                _("Attribute %(n)d (“%(code)s”)") % {"n": number, "code": code}
                if isinstance(code, str) and code
                else _("Attribute %(n)d") % {"n": number}
            )
            errors.append(f"{label}: {message}")

        if not isinstance(entry, dict):
            fail(_("must be an object with a code, labels and a type."))
            continue
        unknown = sorted(set(entry) - SCHEMA_KEYS)
        if unknown:
            fail(
                _("unknown keys %(keys)s (allowed: %(allowed)s).")
                % {"keys": ", ".join(unknown), "allowed": ", ".join(sorted(SCHEMA_KEYS))}
            )
        code = entry.get("code")
        if not _code_ok(code):
            fail(_("the code must be 1 to 60 characters without spaces at its ends, “.” or “__”."))
        elif code in seen:
            fail(_("the code is used by an earlier attribute."))
        else:
            seen.add(code)
        if not isinstance(entry.get("label_vi"), str) or not entry["label_vi"].strip():
            fail(_("the Vietnamese label (label_vi) is required."))
        if "label_en" in entry and not isinstance(entry["label_en"], str):
            fail(_("the English label (label_en) must be text."))
        kind = entry.get("type")
        if kind not in SCHEMA_TYPES:
            fail(
                _("the type must be one of %(types)s, not %(type)s.")
                % {"types": ", ".join(SCHEMA_TYPES), "type": json.dumps(kind, ensure_ascii=False)}
            )
        if "required" in entry and not isinstance(entry["required"], bool):
            fail(_("“required” must be true or false."))
        if "choices" in entry:
            choices = entry["choices"]
            if not isinstance(choices, list) or not choices:
                fail(_("“choices” must be a non-empty list of values."))
            elif kind in SCHEMA_TYPES:
                wrong = [c for c in choices if not _choice_fits(c, kind)]
                if wrong:
                    fail(
                        _("the choices %(values)s are not of the type %(type)s.")
                        % {"values": json.dumps(wrong[:5], ensure_ascii=False), "type": kind}
                    )
                elif len({json.dumps(c) for c in choices}) != len(choices):
                    fail(_("a choice is listed twice."))
    return errors


def _code_ok(code: Any) -> bool:
    return (
        isinstance(code, str)
        and 0 < len(code) <= 60
        and code == code.strip()
        and "." not in code
        and "__" not in code
    )


def _choice_fits(value: Any, kind: str) -> bool:
    if kind == "str" or kind == "date":
        return isinstance(value, str) and bool(value.strip())
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, int | float) and not isinstance(value, bool)


def _same_city(form: forms.ModelForm, data: dict, names: tuple[str, ...]) -> None:
    city = data.get("city") or getattr(form.instance, "city", None)
    if city is None:
        return
    for name in names:
        related = data.get(name)
        if related is not None and related.city_id != city.pk:
            form.add_error(name, _("It belongs to another city."))


class SchemaField(forms.JSONField):
    """The schema as indented JSON, so an administrator edits one attribute per block."""

    def prepare_value(self, value):
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        return json.dumps(value, ensure_ascii=False, indent=2)


class LayerForm(forms.ModelForm):
    schema = SchemaField(
        label=_("attribute schema"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 14, "cols": 90, "spellcheck": "false"}),
        help_text=_(
            'A JSON list, one object per attribute: {"code": "ten", "label_vi": "Tên", "label_en": "Name", '
            '"type": "str", "required": true, "choices": ["…"]}. Types: str, int, float, bool, date '
            "(YYYY-MM-DD); choices are optional."
        ),
    )

    class Meta:
        model = models.Layer
        fields = (
            "city",
            "code",
            "name_vi",
            "name_en",
            "description_vi",
            "description_en",
            "sector",
            "role",
            "owner",
            "cadence",
            "licence",
            "is_public",
            "geometry_kind",
            "schema",
            "name_attribute",
            "colour",
            "order",
        )

    def clean_schema(self):
        schema = self.cleaned_data.get("schema")
        if schema in (None, ""):
            return []
        errors = schema_errors(schema)
        if errors:
            raise forms.ValidationError(errors)
        try:
            # Stored as the services store it (labels filled in, keys in order).
            return validation.check_schema(schema)
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from None

    def clean_colour(self):
        colour = (self.cleaned_data.get("colour") or "").strip()
        if not COLOUR_RE.match(colour):
            raise forms.ValidationError(_("A colour is written #rrggbb, e.g. #3366cc."))
        return colour.lower()

    def clean(self):
        data = super().clean()
        _same_city(self, data, ("owner",))
        schema = data.get("schema")
        name_attribute = data.get("name_attribute") or ""
        if isinstance(schema, list) and name_attribute:
            codes = {e.get("code") for e in schema if isinstance(e, dict)}
            if name_attribute not in codes:
                self.add_error("name_attribute", _("The name attribute must be one of the schema's codes."))
        role, kind = data.get("role") or "", data.get("geometry_kind")
        allowed = ROLE_GEOMETRY.get(role)
        if allowed and kind and kind not in allowed:
            self.add_error(
                "geometry_kind",
                _("A layer with the role “%(role)s” holds %(kind)s.")
                % {"role": models.LayerRole(role).label, "kind": models.GeometryKind(allowed[0]).label},
            )
        self._check_against_features(data)
        return data

    def _check_against_features(self, data: dict) -> None:
        """A layer that already holds features keeps them valid: its geometry kind stays, and an
        attribute it now requires must be on every feature (else import the features again first)."""
        layer = self.instance
        if layer.pk is None or not layer.features.exists():
            return
        kind = data.get("geometry_kind")
        if kind and kind != layer.geometry_kind and kind != models.GeometryKind.ANY:
            self.add_error(
                "geometry_kind",
                _(
                    "The layer holds %(n)d features: its geometry cannot change (import the new features "
                    "into a new layer)."
                )
                % {"n": layer.features.count()},
            )
        schema = data.get("schema")
        if not isinstance(schema, list) or self.has_error("schema"):
            return
        before = {e.get("code") for e in layer.schema or [] if isinstance(e, dict) and e.get("required")}
        for entry in schema:
            code = entry.get("code")
            if not entry.get("required") or code in before:
                continue
            missing = layer.features.exclude(properties__has_key=code).count()
            if missing:
                self.add_error(
                    "schema",
                    _("“%(code)s” cannot become required: %(n)d features of the layer have no value for it.")
                    % {"code": code, "n": missing},
                )


class _ReadOnlyCityAdmin(CityScopedAdmin):
    """Browsed, never added to, changed or deleted here."""

    actions = None

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]


@admin.register(models.Layer)
class LayerAdmin(AuditedCityAdmin):
    form = LayerForm
    list_display = (
        "code",
        "name_vi",
        "sector",
        "role",
        "owner",
        "geometry_kind",
        "is_public",
        "feature_count",
        "updated_at",
        "city",
    )
    list_filter = ("sector", "role", "is_public", "geometry_kind", "cadence", "city")
    search_fields = ("code", "name_vi", "name_en")
    list_select_related = ("owner", "city")
    readonly_fields = (
        "features_link",
        "imports_link",
        "feature_count",
        "bbox",
        "max_feature_width",
        "max_feature_height",
        "total_length_m",
        "total_area_m2",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (None, {"fields": ("city", "code", "name_vi", "name_en", "sector", "role", "owner", "is_public")}),
        (_("Description"), {"fields": ("description_vi", "description_en", "cadence", "licence")}),
        (
            _("Attributes and drawing"),
            {"fields": ("geometry_kind", "schema", "name_attribute", "colour", "order")},
        ),
        (
            _("Maintained by imports"),
            {
                "fields": (
                    "features_link",
                    "imports_link",
                    "feature_count",
                    "bbox",
                    "max_feature_width",
                    "max_feature_height",
                    "total_length_m",
                    "total_area_m2",
                    "created_at",
                    "updated_at",
                )
            },
        ),
    )

    @admin.display(description=pgettext_lazy("admin link", "features"))
    def features_link(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        url = reverse("admin:layers_feature_changelist") + f"?layer__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, f"{obj.feature_count:,}")

    @admin.display(description=_("changelog"))
    def imports_link(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        url = reverse("admin:layers_layerimport_changelist") + f"?layer__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, obj.imports.count())

    @admin.display(description=_("bounding box"))
    def bbox(self, obj):
        if obj is None or obj.min_lon is None:
            return "—"
        return f"{obj.min_lon:.5f}, {obj.min_lat:.5f} – {obj.max_lon:.5f}, {obj.max_lat:.5f}"


@admin.register(models.LayerImport)
class LayerImportAdmin(_ReadOnlyCityAdmin):
    """The changelog: what was imported into which layer, by whom, accepted or rejected and why."""

    list_display = (
        "at",
        "layer",
        "status",
        "format",
        "mode",
        "added",
        "updated",
        "removed",
        "error_at",
        "actor",
        "city",
    )
    list_filter = ("status", "format", "mode", ("layer", admin.RelatedOnlyFieldListFilter), "city")
    search_fields = ("filename", "layer__code", "layer__name_vi", "error")
    list_select_related = ("layer", "actor", "city")
    date_hierarchy = "at"
    show_full_result_count = False


class PopulationForm(forms.ModelForm):
    class Meta:
        model = models.CommunePopulation
        fields = ("city", "commune", "year", "population", "households", "source")

    def clean(self):
        data = super().clean()
        city, commune = data.get("city"), data.get("commune")
        if city is not None and commune is not None and commune.province_id != city.province_code:
            self.add_error("commune", _("This commune is not one of %(city)s's.") % {"city": city.name})
        year = data.get("year")
        if year is not None and not 1900 <= year <= 2100:
            self.add_error("year", _("The year must be between 1900 and 2100."))
        households, population = data.get("households"), data.get("population")
        if households is not None and population is not None and households > population:
            self.add_error("households", _("There cannot be more households than people."))
        return data


@admin.register(models.CommunePopulation)
class CommunePopulationAdmin(AuditedCityAdmin):
    form = PopulationForm
    list_display = ("commune", "year", "population", "households", "source", "imported_at", "city")
    list_filter = ("year", "city")
    search_fields = ("commune__name", "commune__code", "source")
    list_select_related = ("commune", "city")
    readonly_fields = ("imported_at",)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "commune":
            # The communes of the provinces of the administrator's cities (all cities' for platform ones).
            cities = admin_cities(request)
            provinces = City.objects.all() if cities is None else City.objects.filter(pk__in=cities)
            kwargs["queryset"] = Commune.objects.filter(
                province_id__in=provinces.values("province_code")
            ).order_by("name")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(models.Feature)
class FeatureAdmin(_ReadOnlyCityAdmin):
    """Features change only by import; here they are found (by name, with or without accents, or by
    feature id) and read."""

    list_display = ("fid", "name", "layer", "geom_type", "commune", "length_m", "area_m2")
    list_filter = (("layer", admin.RelatedOnlyFieldListFilter), "geom_type")
    search_fields = ("fid", "name")
    list_select_related = ("layer", "commune")
    show_full_result_count = False  # a layer may hold hundreds of thousands of features
    list_per_page = 50

    def get_search_results(self, request, queryset, search_term):
        results, distinct = super().get_search_results(request, queryset, search_term)
        key = fold_key(search_term)
        if key:
            # "truong le loi" finds "Trường Tiểu học Lê Lợi" (name_key is the accent-free name).
            results = results | queryset.filter(name_key__contains=key)
        return results, distinct
