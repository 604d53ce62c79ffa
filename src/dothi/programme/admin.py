"""Admin screens of the programme module, each kept inside the administrator's cities and audited like
every admin change (`core.admin.AuditedCityAdmin`).

- Every model is here; the council's pages under /programme/staff/ are where the work is done, the admin
  is for corrections. A reference (an organisation, a project, a goal…) must belong to the row's city,
  and a child to the same programme as its parent's siblings; the models' own validators (scores 1–5,
  progress 0–100, money ≥ 0) apply.
- Progress is derived: saving or deleting a milestone or a goal contribution recomputes the project's and
  its goals' progress (`services.recompute_progress`); the progress fields are read-only.
- A lesson's search key is filled from its texts, as the services do.
- Plan versions are immutable snapshots of an approved or saved plan: read-only, never added or deleted
  here.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db import models as dj_models
from django.utils.translation import gettext_lazy as _

from dothi.core.admin import AuditedCityAdmin, CityScopedAdmin
from dothi.programme import models, selectors


def _city_of_form(form: forms.ModelForm, data: dict):
    city = data.get("city") or getattr(form.instance, "city", None)
    if city is None and isinstance(form.instance, models.GoalProject):
        goal = data.get("goal")
        city = goal.city if goal is not None else None
    return city


class ScopedForm(forms.ModelForm):
    """References must belong to the row's city (and a project's pilot and partners' agreements to the
    right rows)."""

    def clean(self):
        data = super().clean()
        city = _city_of_form(self, data)
        if city is None:
            return data
        for name, value in list(data.items()):
            rows = list(value) if isinstance(value, dj_models.QuerySet) else [value]
            if any(
                getattr(row, "city_id", city.pk) != city.pk
                for row in rows
                if isinstance(row, dj_models.Model)
            ):
                self.add_error(name, _("It belongs to another city."))
        self._same_programme(data)
        return data

    def _same_programme(self, data: dict) -> None:
        programme = data.get("programme")
        project = data.get("project")
        goal = data.get("goal")
        if programme is not None and project is not None and project.programme_id != programme.pk:
            self.add_error("project", _("The project belongs to another programme."))
        if goal is not None and project is not None and goal.programme_id != project.programme_id:
            self.add_error("project", _("The project belongs to another programme."))
        phase = data.get("phase")
        if phase is not None and project is not None and phase.project_id != project.pk:
            self.add_error("phase", _("The phase belongs to another project."))
        agreement, organisation = data.get("agreement"), data.get("organisation")
        if (
            agreement is not None
            and organisation is not None
            and agreement.organisation_id != organisation.pk
        ):
            self.add_error("agreement", _("This agreement was signed with another organisation."))
        scaled_from = data.get("scaled_from")
        if scaled_from is not None and self.instance.pk and scaled_from.pk == self.instance.pk:
            self.add_error("scaled_from", _("A project cannot scale up itself."))
        for first, last in (
            ("starts_on", "ends_on"),
            ("opens_on", "closes_on"),
            ("since", "until"),
            ("made_on", "due_on"),
            ("period_start", "period_end"),
        ):
            a, b = data.get(first), data.get(last)
            if a is not None and b is not None and b < a:
                self.add_error(last, _("The end must not be before the start."))


class _Admin(AuditedCityAdmin):
    form = ScopedForm
    list_select_related = ("city",)
    show_full_result_count = False


class _ProgressAdmin(_Admin):
    """Saving or deleting the row recomputes its project's progress and its goals' (the services' roll-up)."""

    def _recompute(self, obj) -> None:
        from dothi.programme import services

        project = models.Project.objects.filter(pk=obj.project_id).first()
        if project is not None:
            services.recompute_progress(project)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        self._recompute(obj)

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        self._recompute(obj)


@admin.register(models.Programme)
class ProgrammeAdmin(_Admin):
    list_display = (
        "code",
        "title_vi",
        "period_start",
        "period_end",
        "status",
        "version",
        "is_published",
        "city",
    )
    list_filter = ("status", "is_published", "city")
    search_fields = ("code", "title_vi", "title_en", "decision_number")
    readonly_fields = ("version", "created_at", "updated_at")


@admin.register(models.PlanVersion)
class PlanVersionAdmin(CityScopedAdmin):
    """Immutable snapshots: browsed, never added, changed or deleted."""

    list_display = ("programme", "number", "status", "note", "created_by", "created_at", "city")
    list_filter = ("status", "city")
    list_select_related = ("programme", "created_by", "city")
    actions = None
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(models.TeamMember)
class TeamMemberAdmin(_Admin):
    list_display = ("name", "position", "role", "organisation", "programme", "order", "city")
    list_filter = ("role", "city")
    search_fields = ("name", "position")
    raw_id_fields = ("user",)


@admin.register(models.SwotItem)
class SwotItemAdmin(_Admin):
    list_display = ("quadrant", "text_vi", "programme", "order", "city")
    list_filter = ("quadrant", "city")
    search_fields = ("text_vi", "text_en")


@admin.register(models.AssessmentItem)
class AssessmentItemAdmin(_Admin):
    list_display = ("area", "question_vi", "score", "programme", "assessed_at", "city")
    list_filter = ("area", "score", "city")
    search_fields = ("question_vi", "question_en", "evidence")
    raw_id_fields = ("assessed_by",)


class TargetInline(admin.TabularInline):
    model = models.Target
    extra = 0
    fields = (
        "kpi_code",
        "label_vi",
        "unit",
        "baseline_value",
        "baseline_year",
        "target_value",
        "deadline",
        "higher_is_better",
    )
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return True  # whoever may see the goal (CityScopedAdmin) sees its targets


@admin.register(models.Goal)
class GoalAdmin(_Admin):
    list_display = ("code", "title_vi", "programme", "progress", "is_published", "city")
    list_filter = ("is_published", "city")
    search_fields = ("code", "title_vi", "title_en")
    readonly_fields = ("progress",)
    inlines = [TargetInline]


@admin.register(models.Target)
class TargetAdmin(_Admin):
    list_display = ("kpi_code", "label_vi", "goal", "baseline_value", "target_value", "deadline", "city")
    list_filter = ("higher_is_better", "city")
    search_fields = ("kpi_code", "label_vi", "label_en")
    list_select_related = ("goal", "city")


@admin.register(models.Project)
class ProjectAdmin(_Admin):
    list_display = (
        "code",
        "title_vi",
        "kind",
        "domain",
        "agency",
        "status",
        "progress",
        "is_published",
        "city",
    )
    list_filter = ("kind", "domain", "status", "investment_model", "is_published", "city")
    search_fields = ("code", "title_vi", "title_en")
    list_select_related = ("agency", "city")
    readonly_fields = ("progress", "updated_at")


@admin.register(models.GoalProject)
class GoalProjectAdmin(_ProgressAdmin):
    city_field = "goal__city"
    list_display = ("goal", "project", "weight")
    list_select_related = ("goal", "project")


@admin.register(models.BudgetLine)
class BudgetLineAdmin(_Admin):
    list_display = ("project", "year", "source", "kind", "planned_vnd", "disbursed_vnd", "city")
    list_filter = ("year", "source", "kind", "city")
    search_fields = ("project__code", "project__title_vi")
    list_select_related = ("project", "city")


@admin.register(models.Phase)
class PhaseAdmin(_Admin):
    list_display = ("name_vi", "project", "kind", "starts_on", "ends_on", "city")
    list_filter = ("kind", "city")
    search_fields = ("name_vi", "name_en", "project__code")
    list_select_related = ("project", "city")


@admin.register(models.Milestone)
class MilestoneAdmin(_ProgressAdmin):
    list_display = ("title_vi", "project", "due_on", "done_on", "weight", "progress", "city")
    list_filter = (("done_on", admin.EmptyFieldListFilter), "city")
    search_fields = ("title_vi", "title_en", "project__code")
    list_select_related = ("project", "city")


@admin.register(models.ProjectPartner)
class ProjectPartnerAdmin(_Admin):
    list_display = ("organisation", "role", "project", "value_vnd", "agreement", "city")
    list_filter = ("role", "city")
    search_fields = ("organisation__name_vi", "project__code", "services")
    list_select_related = ("organisation", "project", "agreement", "city")


@admin.register(models.Risk)
class RiskAdmin(_Admin):
    list_display = ("title_vi", "likelihood", "impact", "score", "owner", "project", "status", "city")
    list_filter = ("status", "likelihood", "impact", "city")
    search_fields = ("title_vi", "title_en", "mitigation")
    list_select_related = ("owner", "project", "city")

    @admin.display(description=_("score"))
    def score(self, obj):
        return obj.score


@admin.register(models.Stakeholder)
class StakeholderAdmin(_Admin):
    list_display = ("name", "kind", "influence", "interest", "is_published", "programme", "city")
    list_filter = ("kind", "is_published", "city")
    search_fields = ("name", "note")


@admin.register(models.Commitment)
class CommitmentAdmin(_Admin):
    list_display = ("text_vi", "stakeholder", "project", "due_on", "status", "city")
    list_filter = ("status", "city")
    search_fields = ("text_vi", "text_en", "stakeholder__name")
    list_select_related = ("stakeholder", "project", "city")


@admin.register(models.Challenge)
class ChallengeAdmin(_Admin):
    list_display = ("code", "title_vi", "status", "opens_on", "closes_on", "programme", "city")
    list_filter = ("status", "city")
    search_fields = ("code", "title_vi", "title_en")
    filter_horizontal = ("projects",)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        from dothi.core.admin import admin_cities

        cities = admin_cities(request)
        if cities is not None and db_field.name == "projects":
            kwargs["queryset"] = models.Project.objects.filter(city__in=cities)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


@admin.register(models.TrainingCourse)
class TrainingCourseAdmin(_Admin):
    list_display = ("title_vi", "provider", "topic", "starts_on", "ends_on", "hours", "city")
    list_filter = ("city",)
    search_fields = ("title_vi", "title_en", "topic")


@admin.register(models.TrainingCompletion)
class TrainingCompletionAdmin(_Admin):
    list_display = ("course", "user", "organisation", "completed_on", "city")
    list_filter = ("city",)
    list_select_related = ("course", "user", "organisation", "city")
    raw_id_fields = ("user",)


@admin.register(models.Cooperation)
class CooperationAdmin(_Admin):
    list_display = ("title_vi", "kind", "partner", "since", "until", "is_published", "city")
    list_filter = ("kind", "is_published", "city")
    search_fields = ("title_vi", "title_en", "partner")


@admin.register(models.Lesson)
class LessonAdmin(_Admin):
    list_display = ("title", "project", "is_shared", "created_at", "city")
    list_filter = ("is_shared", "city")
    search_fields = ("search_key", "title")
    list_select_related = ("project", "city")
    readonly_fields = ("search_key", "created_by", "created_at", "updated_at")

    def get_search_results(self, request, queryset, search_term):
        from dothi.core.text import fold_key

        return super().get_search_results(request, queryset, fold_key(search_term) or search_term)

    def save_model(self, request, obj, form, change):
        obj.search_key = selectors.lesson_key(obj)
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
