"""Admin screens for the sensing module: quantities, sensors and cameras, data sources, ingestion keys
(issued here and shown once) and the rejection counters, each kept inside the administrator's cities.
Global quantities (no city) are the platform's: city administrators see them and add their own."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from dothi.core import audit
from dothi.core.admin import AuditedCityAdmin, CityScopedAdmin, admin_cities
from dothi.core.errors import DomainError
from dothi.core.models import AuditEvent
from dothi.sensing import keys, models, services


@admin.register(models.Quantity)
class QuantityAdmin(AuditedCityAdmin):
    list_display = ("code", "name_vi", "name_en", "unit", "min_value", "max_value", "summed", "city")
    list_filter = ("summed", "city")
    search_fields = ("code", "name_vi", "name_en")

    def get_queryset(self, request):
        qs = admin.ModelAdmin.get_queryset(self, request)
        cities = admin_cities(request)
        return qs if cities is None else qs.filter(Q(city__isnull=True) | Q(city__in=cities))

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.city_id is None:
            return request.user.is_superuser  # the global catalogue is the platform's
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.city_id is None:
            return request.user.is_superuser
        return super().has_delete_permission(request, obj)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if "city" in form.base_fields and not request.user.is_superuser:
            form.base_fields["city"].required = True  # city administrators add their city's quantities
        return form


class SensorForm(forms.ModelForm):
    class Meta:
        model = models.Sensor
        fields = (
            "city", "code", "name", "kind", "quantities", "status", "is_public", "expected_interval_seconds",
            "description", "lat", "lon", "owner", "agreement", "source", "view_description", "stream_url",
            "properties",
        )

    def clean(self):
        data = super().clean()
        city = data.get("city") or getattr(self.instance, "city", None)
        if city is None:
            return data
        for name in ("owner", "agreement", "source"):
            related = data.get(name)
            if related is not None and related.city_id != city.pk:
                self.add_error(name, _("It belongs to another city."))
        agreement = data.get("agreement")
        if agreement is not None and agreement.kind != agreement.Kind.DATA_SHARING:
            self.add_error("agreement", _("A sensor is registered under a data-sharing agreement."))
        for q in data.get("quantities") or []:
            if q.city_id not in (None, city.pk):
                self.add_error("quantities", _("It belongs to another city."))
        if data.get("lat") is not None and data.get("lon") is not None:
            try:
                data["commune"] = services._commune(city, data["lon"], data["lat"])
            except DomainError as exc:
                self.add_error("lat", exc.message)
        return data


@admin.register(models.Sensor)
class SensorAdmin(AuditedCityAdmin):
    form = SensorForm
    list_display = ("code", "name", "kind", "status", "commune", "owner", "is_public", "last_seen_at", "city")
    list_filter = ("kind", "status", "is_public", "city")
    search_fields = ("code", "name")
    raw_id_fields = ("commune",)
    filter_horizontal = ("quantities",)
    readonly_fields = ("commune", "last_seen_at", "created_at", "updated_at")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "city",
                    "code",
                    "name",
                    "kind",
                    "quantities",
                    "status",
                    "is_public",
                    "expected_interval_seconds",
                    "description",
                )
            },
        ),
        (_("Place"), {"fields": ("lat", "lon", "commune")}),
        (_("Owner and data sharing"), {"fields": ("owner", "agreement", "source")}),
        (_("Camera"), {"fields": ("view_description", "stream_url")}),
        (_("More"), {"fields": ("properties", "last_seen_at", "created_at", "updated_at")}),
    )

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        cities = admin_cities(request)
        if cities is not None and db_field.name == "quantities":
            kwargs["queryset"] = models.Quantity.objects.filter(Q(city__isnull=True) | Q(city__in=cities))
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        obj.commune = form.cleaned_data.get("commune", obj.commune)
        super().save_model(request, obj, form, change)


@admin.register(models.DataSource)
class DataSourceAdmin(AuditedCityAdmin):
    list_display = ("name", "organisation", "is_active", "created_at", "city")
    list_filter = ("is_active", "city")
    search_fields = ("name", "description")


class IngestKeyForm(forms.ModelForm):
    class Meta:
        model = models.IngestKey
        fields = ("city", "source", "is_active")

    def clean(self):
        data = super().clean()
        source, city = data.get("source"), data.get("city")
        if source is not None and city is not None and source.city_id != city.pk:
            self.add_error("source", _("It belongs to another city."))
        return data


@admin.register(models.IngestKey)
class IngestKeyAdmin(CityScopedAdmin):
    form = IngestKeyForm
    list_display = ("source", "prefix", "is_active", "created_at", "last_used_at", "city")
    list_filter = ("is_active", "city")
    search_fields = ("prefix", "source__name")
    actions = ["revoke"]

    def get_readonly_fields(self, request, obj=None):
        return ("city", "source", "prefix", "created_at", "last_used_at") if obj is not None else ()

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("city", "source")
        return ("city", "source", "prefix", "is_active", "created_at", "last_used_at")

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            audit.record(
                actor=request.user,
                action=AuditEvent.Action.UPDATE,
                obj=obj,
                request=request,
                details={"changed": sorted(form.changed_data)},
            )
            return
        key, plaintext = keys.ingest_key_issue(actor=request.user, city=obj.city, name=obj.source.name)
        obj.pk, obj.prefix, obj.key_hash, obj.source = key.pk, key.prefix, key.key_hash, key.source
        obj._state.adding = False
        # Shown once: only its hash is stored.
        messages.warning(
            request,
            _("The ingestion key for %(source)s is %(key)s — copy it now: it will not be shown again.")
            % {"source": key.source.name, "key": plaintext},
        )

    @admin.action(description=_("Revoke the selected keys"))
    def revoke(self, request, queryset):
        for key in queryset:
            keys.ingest_key_revoke(actor=request.user, key=key)


@admin.register(models.RejectionCount)
class RejectionCountAdmin(CityScopedAdmin):
    """What data sources sent that was rejected, per reason: a log to read."""

    list_display = ("source", "code", "count", "first_at", "last_at", "last_message", "city")
    list_filter = ("code", "city")
    search_fields = ("source__name", "code")
    actions = None

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
