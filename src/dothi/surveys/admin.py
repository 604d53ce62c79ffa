"""Admin of the surveys module: the city's surveys, for corrections by city administrators (texts and
dates; audited). Surveys are built, opened and closed on the staff pages (/surveys/staff/); responses
are not in the admin at all (results and the CSV export are on the staff pages)."""

from __future__ import annotations

from django.contrib import admin

from dothi.core.admin import AuditedCityAdmin
from dothi.surveys.models import Question, Survey


class QuestionInline(admin.TabularInline):
    model = Question
    extra = 0
    fields = ("order", "kind", "text_vi", "text_en", "required", "indicator_code")
    readonly_fields = ("kind",)
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Survey)
class SurveyAdmin(AuditedCityAdmin):
    list_display = ("code", "title_vi", "kind", "status", "opens_at", "closes_at")
    list_filter = ("kind", "status")
    search_fields = ("code", "title_vi", "title_en")
    readonly_fields = (
        "city",
        "code",
        "kind",
        "status",
        "audience",
        "anonymous_results",
        "created_by",
        "created_at",
        "updated_at",
    )
    fields = (
        "city",
        "code",
        "kind",
        "status",
        "title_vi",
        "title_en",
        "intro_vi",
        "intro_en",
        "opens_at",
        "closes_at",
        "audience",
        "anonymous_results",
        "repeat_days",
        "created_by",
        "created_at",
        "updated_at",
    )
    inlines = [QuestionInline]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
