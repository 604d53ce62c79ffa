"""Admin screens of the control centre, each kept inside the administrator's cities, all read-only:
alarms move only through the operators' actions (acknowledge, assign, close: audited, logged), the
incident log is append-only and handovers are a record of who handed what to whom."""

from __future__ import annotations

from django.contrib import admin

from dothi.core.admin import CityScopedAdmin
from dothi.ioc import models


class _ReadOnly:
    """Browsed, never added to, changed or deleted here."""

    actions = None

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(models.Alarm)
class AlarmAdmin(_ReadOnly, CityScopedAdmin):
    list_display = (
        "title",
        "level",
        "status",
        "module",
        "kind",
        "raised_at",
        "seen_at",
        "cleared_at",
        "city",
    )
    list_filter = ("status", "level", "module", "city")
    search_fields = ("key", "title")
    date_hierarchy = "raised_at"
    list_select_related = ("city",)

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]


@admin.register(models.IncidentEntry)
class IncidentEntryAdmin(_ReadOnly, CityScopedAdmin):
    list_display = ("at", "kind", "author", "text", "alarm", "commune", "city")
    list_filter = ("kind", "city")
    search_fields = ("text",)
    date_hierarchy = "at"
    list_select_related = ("author", "alarm", "commune", "city")

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]


@admin.register(models.ShiftHandover)
class ShiftHandoverAdmin(_ReadOnly, CityScopedAdmin):
    list_display = ("at", "handed_by", "handed_to", "accepted_at", "city")
    list_filter = ("city",)
    date_hierarchy = "at"
    list_select_related = ("handed_by", "handed_to", "city")

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]
