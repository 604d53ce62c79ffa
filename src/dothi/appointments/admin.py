"""Admin screens for the appointments module: offices, counters, services and closed days (city
administrators configure them), slots (read-only counts) and bookings (read-only), each kept inside
the administrator's cities. Every change is audited, and the affected slots are regenerated so
capacity follows the configuration (never below what is booked)."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from dothi.appointments import models, services
from dothi.core.admin import AuditedCityAdmin, CityScopedAdmin


class _Audited(AuditedCityAdmin):
    """Audited like every admin change (core), and the slots follow the new configuration."""

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        obj = form.instance
        office = obj if isinstance(obj, models.Office) else getattr(obj, "office", None)
        services.slots_generate(city=obj.city, office=office)

    def delete_model(self, request, obj):
        city = obj.city
        office = obj if isinstance(obj, models.Office) else getattr(obj, "office", None)
        super().delete_model(request, obj)
        if not isinstance(obj, models.Office):
            services.slots_generate(city=city, office=office)


class CounterInline(admin.TabularInline):
    model = models.Counter
    extra = 0
    fields = ("number", "name", "services", "is_active")
    filter_horizontal = ("services",)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        from dothi.core.admin import admin_cities

        cities = admin_cities(request)
        if db_field.name == "services" and cities is not None:
            kwargs["queryset"] = models.Service.objects.filter(city__in=cities)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


@admin.register(models.Office)
class OfficeAdmin(_Audited):
    list_display = ("code", "name_vi", "agency", "commune", "slot_minutes", "is_active", "city")
    list_filter = ("is_active", "city")
    search_fields = ("code", "name_vi", "name_en", "address")
    readonly_fields = ("commune",)
    inlines = [CounterInline]

    def save_model(self, request, obj, form, change):
        # The commune follows the point, as through services.office_create.
        obj.commune = services._commune_for(obj.city, obj.lat, obj.lon)
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        for instance in formset.save(commit=False):
            instance.city = form.instance.city
            instance.save()
        formset.save_m2m()
        for obj in formset.deleted_objects:
            obj.delete()


@admin.register(models.Counter)
class CounterAdmin(_Audited):
    list_display = ("office", "number", "name", "is_active", "city")
    list_filter = ("is_active", "city", ("office", admin.RelatedOnlyFieldListFilter))
    filter_horizontal = ("services",)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        from dothi.core.admin import admin_cities

        cities = admin_cities(request)
        if db_field.name == "services" and cities is not None:
            kwargs["queryset"] = models.Service.objects.filter(city__in=cities)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


@admin.register(models.Service)
class ServiceAdmin(_Audited):
    list_display = (
        "code",
        "name_vi",
        "duration_minutes",
        "max_days_ahead",
        "cancel_cutoff_hours",
        "is_active",
    )
    list_filter = ("is_active", "city")
    search_fields = ("code", "name_vi", "name_en")

    def save_related(self, request, form, formsets, change):
        admin.ModelAdmin.save_related(self, request, form, formsets, change)
        services.slots_generate(city=form.instance.city)


@admin.register(models.ClosedDay)
class ClosedDayAdmin(_Audited):
    list_display = ("day", "office", "reason", "city")
    list_filter = ("city", ("office", admin.RelatedOnlyFieldListFilter))
    date_hierarchy = "day"


@admin.register(models.Slot)
class SlotAdmin(CityScopedAdmin):
    """Read-only: slots are generated, and their counts move only through bookings."""

    list_display = ("start", "office", "service", "booked", "capacity")
    list_filter = (
        "city",
        ("office", admin.RelatedOnlyFieldListFilter),
        ("service", admin.RelatedOnlyFieldListFilter),
    )
    date_hierarchy = "start"
    readonly_fields = ("city", "office", "service", "start", "end", "capacity", "booked")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(models.Booking)
class BookingAdmin(CityScopedAdmin):
    """Read-only: the booking's way through the queue runs through the counter screens (services)."""

    list_display = ("code", "service", "office", "day", "status", "walk_in", "queue_number", "city")
    list_filter = ("status", "walk_in", "channel", "city")
    search_fields = ("code",)
    date_hierarchy = "day"
    exclude = ("walk_in_phone_enc", "idempotency_key")
    readonly_fields = (
        "city",
        "code",
        "citizen",
        "service",
        "office",
        "slot",
        "day",
        "status",
        "walk_in",
        "walk_in_name",
        "counter",
        "queue_number",
        "channel",
        "created_at",
        "arrived_at",
        "called_at",
        "served_at",
        "finished_at",
        "cancelled_at",
        "no_show_at",
        "reminded_at",
        "reschedule_count",
        "served_by",
        "wait_minutes",
    )

    @admin.display(description=_("wait (minutes)"))
    def wait_minutes(self, obj):
        return None if obj.wait_seconds is None else round(obj.wait_seconds / 60, 1)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
