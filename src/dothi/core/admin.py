"""Admin screens for the shared kernel. `CityScopedAdmin` keeps every city administrator inside
their own city; platform administrators see all."""

from __future__ import annotations

from django.contrib import admin

from dothi.core import audit, models


def admin_cities(request):
    """Cities the signed-in admin user administers (None: all, for platform administrators)."""
    if request.user.is_superuser:
        return None
    return list(request.user.memberships.filter(role="city_admin").values_list("city_id", flat=True))


class CityScopedAdmin(admin.ModelAdmin):
    city_field = "city"

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        cities = admin_cities(request)
        return qs if cities is None else qs.filter(**{f"{self.city_field}__in": cities})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        cities = admin_cities(request)
        if cities is not None:
            if db_field.related_model is models.City:
                kwargs["queryset"] = models.City.objects.filter(pk__in=cities)
            elif hasattr(db_field.related_model, "city"):
                kwargs["queryset"] = db_field.related_model.objects.filter(city__in=cities)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_module_permission(self, request):
        return request.user.is_active and (request.user.is_superuser or bool(admin_cities(request)))

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_change_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_add_permission(self, request):
        return self.has_module_permission(request)

    def has_delete_permission(self, request, obj=None):
        return self.has_module_permission(request)


class AuditedCityAdmin(CityScopedAdmin):
    """Changes made in the admin leave the same audit trail as changes made through services."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        audit.record(
            actor=request.user,
            action=models.AuditEvent.Action.UPDATE if change else models.AuditEvent.Action.CREATE,
            obj=obj,
            summary=str(obj)[:300],
            details={"changed": sorted(form.changed_data)},
            request=request,
        )

    def delete_model(self, request, obj):
        audit.record(
            actor=request.user,
            action=models.AuditEvent.Action.DELETE,
            obj=obj,
            summary=str(obj)[:300],
            request=request,
        )
        super().delete_model(request, obj)


# --- Organisations, agreements, feedback and the delivery log ---------------------------------

from django.db import models as dj_models  # noqa: E402 - appended section keeps its imports together
from django.utils import timezone  # noqa: E402
from django.utils.translation import gettext_lazy as _  # noqa: E402


@admin.register(models.Organisation)
class OrganisationAdmin(AuditedCityAdmin):
    list_display = ("name_vi", "code", "kind", "agency_type", "city", "is_active")
    list_filter = ("kind", "agency_type", "is_active", "city")
    search_fields = ("name_vi", "name_en", "code")
    raw_id_fields = ("commune",)
    # A website typed without a scheme is taken as https (Django 6's default, chosen now).
    formfield_overrides = {dj_models.URLField: {"assume_scheme": "https"}}


class InForceFilter(admin.SimpleListFilter):
    title = _("in force")
    parameter_name = "in_force"

    def lookups(self, request, model_admin):
        return [("yes", _("In force today")), ("no", _("Not in force today"))]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        in_force = queryset.filter(starts_on__lte=today).exclude(ends_on__lt=today)
        if self.value() == "yes":
            return in_force
        if self.value() == "no":
            return queryset.exclude(pk__in=in_force.values("pk"))
        return queryset


@admin.register(models.Agreement)
class AgreementAdmin(AuditedCityAdmin):
    list_display = ("title", "organisation", "kind", "starts_on", "ends_on", "city")
    list_filter = (InForceFilter, "kind", "city")
    search_fields = ("title", "organisation__name_vi", "organisation__code")
    date_hierarchy = "starts_on"
    filter_horizontal = ("shared_with",)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        cities = admin_cities(request)
        if cities is not None and db_field.related_model is models.Organisation:
            kwargs["queryset"] = models.Organisation.objects.filter(city__in=cities)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class _ReadOnlyCityAdmin(CityScopedAdmin):
    """A log to browse, not to edit."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(models.Feedback)
class FeedbackAdmin(_ReadOnlyCityAdmin):
    list_display = ("subject_type", "subject_id", "rating", "created_at", "city")
    list_filter = ("subject_type", "rating", "city")
    # The author is left out on purpose: ratings are read as aggregates, not per person.
    exclude = ("author",)


@admin.register(models.Delivery)
class DeliveryAdmin(_ReadOnlyCityAdmin):
    city_field = "notification__city"
    list_display = ("notification_id", "channel", "status", "attempts", "detail", "updated_at")
    list_filter = ("channel", "status")


# --- The audit trail and the cities ----------------------------------------------------------------


@admin.register(models.AuditEvent)
class AuditEventAdmin(_ReadOnlyCityAdmin):
    """The audit trail: browsed and filtered, never added to, changed or deleted (it is append-only).

    City administrators see only their own city's records (CityScopedAdmin); records without a city
    (platform-wide events) are for platform administrators only.
    """

    list_display = ("at", "actor_label", "action", "object_type", "object_id", "summary", "city", "ip")
    list_filter = ("action", "object_type", "city")
    date_hierarchy = "at"
    search_fields = ("actor_label", "object_id")
    list_select_related = ("city",)
    actions = None  # no bulk delete
    show_full_result_count = False  # the trail grows large: skip the extra unfiltered COUNT(*)

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def get_list_filter(self, request):
        # A city administrator's records are all from their own city: the city filter would be noise.
        return self.list_filter if admin_cities(request) is None else ("action", "object_type")


@admin.register(models.City)
class CityAdmin(admin.ModelAdmin):
    """Platform administrators add and edit cities; a city administrator sees their own city and
    edits only its policy (per-module settings and enabled modules)."""

    list_display = ("slug", "name_vi", "name_en", "province_code", "default_language", "is_active")
    list_filter = ("is_active", "default_language")
    search_fields = ("slug", "name_vi", "name_en")
    city_editable_fields = ("enabled_modules", "settings")

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        cities = admin_cities(request)
        return qs if cities is None else qs.filter(pk__in=cities)

    def get_readonly_fields(self, request, obj=None):
        if request.user.is_superuser:
            return ("created_at",)
        return [f.name for f in self.model._meta.fields if f.name not in self.city_editable_fields]

    def has_module_permission(self, request):
        return request.user.is_active and (request.user.is_superuser or bool(admin_cities(request)))

    def has_view_permission(self, request, obj=None):
        if obj is not None and not request.user.is_superuser:
            return obj.pk in (admin_cities(request) or [])
        return self.has_module_permission(request)

    def has_change_permission(self, request, obj=None):
        return self.has_view_permission(request, obj)

    def has_add_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        # Deleting a city cascades to everything it owns: deactivate it instead.
        return False

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        audit.record(
            actor=request.user,
            action=models.AuditEvent.Action.UPDATE if change else models.AuditEvent.Action.CREATE,
            obj=obj, city=obj, summary=str(obj)[:300], details={"changed": sorted(form.changed_data)},
            request=request,
        )


def _otp_device_admin_404() -> None:
    """django-otp's TOTP admin answers 500 for the QR/config page of a device that does not exist;
    wrap those two views so a missing device is a plain 404 (the route walk requires no 500s)."""
    from django.core.exceptions import PermissionDenied
    from django.http import Http404
    from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin
    from django_otp.plugins.otp_totp.models import TOTPDevice

    class SafeTOTPDeviceAdmin(TOTPDeviceAdmin):
        def _check(self, request, pk) -> None:
            # Permission first, so someone without it cannot probe which devices exist.
            if not self.has_view_or_change_permission(request):
                raise PermissionDenied
            if not TOTPDevice.objects.filter(pk=pk).exists():
                raise Http404

        def config_view(self, request, pk):
            self._check(request, pk)
            return super().config_view(request, pk)

        def qrcode_view(self, request, pk):
            self._check(request, pk)
            return super().qrcode_view(request, pk)

    if admin.site.is_registered(TOTPDevice):
        admin.site.unregister(TOTPDevice)
    admin.site.register(TOTPDevice, SafeTOTPDeviceAdmin)


_otp_device_admin_404()
