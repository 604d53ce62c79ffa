"""Admin screens of the KPI module, kept inside the administrator's cities and audited
(`core.admin.AuditedCityAdmin`); the staff pages under /kpis/ are where the work is done.

- Indicators: the shared catalogue (no city) is `catalogue.sync`'s and the platform administrators';
  city administrators see it read-only and edit their city's own indicators.
- Values are measurements: their figures and inputs are read-only (recompute, or enter a manual value
  for the council to approve); never added here.
- Issued evaluations are frozen snapshots: read-only, never added or deleted here.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Q

from dothi.core.admin import AuditedCityAdmin, admin_cities
from dothi.core.models import City
from dothi.kpis import models


@admin.register(models.Indicator)
class IndicatorAdmin(AuditedCityAdmin):
    list_display = ("code", "name_vi", "source", "kind", "dimension", "unit", "calculator", "is_active",
                    "city")
    list_filter = ("source", "kind", "dimension", "is_active", "per_ward")
    search_fields = ("code", "name_vi", "name_en", "standard_code")

    def get_queryset(self, request):
        qs = admin.ModelAdmin.get_queryset(self, request)
        cities = admin_cities(request)
        return qs if cities is None else qs.filter(Q(city__isnull=True) | Q(city__in=cities))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        cities = admin_cities(request)
        if cities is not None and db_field.related_model is City:
            kwargs["queryset"] = City.objects.filter(pk__in=cities)
            kwargs["required"] = True
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def _own(self, request, obj) -> bool:
        if obj is None or request.user.is_superuser:
            return True
        return obj.city_id is not None and obj.city_id in (admin_cities(request) or [])

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._own(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._own(request, obj)


@admin.register(models.CityIndicator)
class CityIndicatorAdmin(AuditedCityAdmin):
    list_display = ("indicator", "city", "is_tracked", "is_published")
    list_filter = ("is_tracked", "is_published", "city")
    search_fields = ("indicator__code", "indicator__name_vi")
    raw_id_fields = ("indicator",)


@admin.register(models.Value)
class ValueAdmin(AuditedCityAdmin):
    list_display = ("indicator", "grain", "period_start", "commune", "value", "method", "status", "city")
    list_filter = ("method", "status", "grain", "city")
    search_fields = ("indicator__code", "indicator__name_vi", "source")
    date_hierarchy = "period_start"
    readonly_fields = ("city", "indicator", "grain", "period_start", "period_end", "commune", "value",
                       "numerator", "denominator", "sample_size", "method", "status", "computed_at", "source",
                       "evidence", "entered_by", "decided_by", "decided_at", "decision_note")
    fields = (*readonly_fields, "note")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser


@admin.register(models.Benefit)
class BenefitAdmin(AuditedCityAdmin):
    list_display = ("project_code", "year", "kind", "amount_vnd", "description_vi", "city")
    list_filter = ("kind", "year", "city")
    search_fields = ("project_code", "description_vi", "description_en", "indicator_code")
    readonly_fields = ("entered_by", "created_at")


@admin.register(models.Evaluation)
class EvaluationAdmin(AuditedCityAdmin):
    list_display = ("title_vi", "grain", "period_start", "issued_by", "issued_at", "city")
    list_filter = ("grain", "city")
    search_fields = ("title_vi", "title_en")
    readonly_fields = ("city", "title_vi", "title_en", "grain", "period_start", "period_end", "snapshot",
                       "issued_by", "issued_at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
