"""Admin screens for the shared kernel. `CityScopedAdmin` keeps every city administrator inside
their own city; platform administrators see all."""

from __future__ import annotations

from django.contrib import admin

from dothi.core import models


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
