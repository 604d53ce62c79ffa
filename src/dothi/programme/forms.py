"""Forms of the programme pages: one per model the staff pages edit, built from the model's own fields
(labels, choices and validators as the model declares them), with every choice of a related row limited
to the city and the programme; plus the plan's status transition, a version note, an alternative, a
course completion and the lessons search.

The forms only shape input for the services (`services.create/update/...`), which validate again; what
a service refuses is shown next to the field it names (`apply_error`).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.forms.models import fields_for_model, model_to_dict
from django.utils.translation import gettext_lazy as _

from dothi.core.errors import DomainError
from dothi.core.forms import StyledForm
from dothi.core.forms import apply_error as core_apply_error
from dothi.core.models import Agreement, Organisation
from dothi.programme import models as m

TEXTAREA_ROWS = 3


def apply_error(form: forms.Form, exc: DomainError | str, field: str | None = None) -> None:
    """Show a service's refusal next to the field it names (or above the form)."""
    core_apply_error(form, exc, field)


def _formfield(db_field, **kwargs):
    """Dates as date pickers, long texts as short text areas; everything else as the model says."""
    from django.db import models as dj

    if isinstance(db_field, dj.DateField) and not isinstance(db_field, dj.DateTimeField):
        kwargs.setdefault("widget", forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    elif isinstance(db_field, dj.TextField):
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": TEXTAREA_ROWS}))
    return db_field.formfield(**kwargs)


class ItemForm(StyledForm):
    """A form over some fields of one model of the module. `city`, `programme` and `project` limit the
    choices of related rows; `instance` fills the initial values for editing."""

    model: type = None  # type: ignore[assignment]
    field_names: tuple[str, ...] = ()

    def __init__(self, data=None, files=None, *, city, programme=None, project=None, instance=None, **kwargs):
        if instance is not None:
            initial = model_to_dict(instance, fields=[f for f in self.field_names if f in self.base_fields])
            initial.update(self.extra_initial(instance))
            initial.update(kwargs.pop("initial", None) or {})
            kwargs["initial"] = initial
        super().__init__(data, files, **kwargs)
        self.city, self.programme, self.project, self.instance = city, programme, project, instance
        User = get_user_model()
        for field in self.fields.values():
            queryset = getattr(field, "queryset", None)
            if queryset is None:
                continue
            model = queryset.model
            if model in (Organisation, Agreement):
                field.queryset = model.objects.filter(city=city)
            elif model is User:
                field.queryset = (
                    User.objects.filter(memberships__city=city, is_active=True)
                    .distinct()
                    .order_by("username")
                )
            elif model is m.Phase:
                field.queryset = (
                    m.Phase.objects.filter(project=project) if project else m.Phase.objects.none()
                )
            elif hasattr(model, "programme"):
                field.queryset = (
                    model.objects.filter(programme=programme) if programme else model.objects.none()
                )
            elif model is m.Goal or model is m.Project:
                field.queryset = model.objects.filter(programme=programme)

    def extra_initial(self, instance) -> dict:
        return {}

    def service_fields(self) -> dict[str, Any]:
        """What the services receive: the cleaned fields (an untouched file field is left out)."""
        data = dict(self.cleaned_data)
        for name, field in self.fields.items():
            if isinstance(field, forms.FileField) and not data.get(name):
                data.pop(name, None)
        return data


def item_form(model, names: tuple[str, ...], base: type = ItemForm, **extra_fields) -> type[ItemForm]:
    fields = fields_for_model(model, fields=names, formfield_callback=_formfield)
    attrs = {**fields, **extra_fields, "model": model, "field_names": names + tuple(extra_fields)}
    return type(f"{model.__name__}Form", (base,), attrs)


# --- The plan ----------------------------------------------------------------------------------------

ProgrammeForm = item_form(
    m.Programme,
    (
        "code",
        "title_vi",
        "title_en",
        "period_start",
        "period_end",
        "vision_vi",
        "vision_en",
        "principles_vi",
        "principles_en",
        "scope_vi",
        "scope_en",
        "is_published",
    ),
)


class TransitionForm(StyledForm):
    """Move the plan to another status; approving needs the decision's number and date."""

    status = forms.ChoiceField(label=_("New status"), choices=m.Programme.Status.choices)
    decision_number = forms.CharField(label=_("Decision number"), max_length=100, required=False)
    decision_date = forms.DateField(
        label=_("Decision date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    decision_authority = forms.CharField(label=_("Issued by"), max_length=200, required=False)


class VersionForm(StyledForm):
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


# --- Team, SWOT, assessment, risks, stakeholders -----------------------------------------------------

TeamMemberForm = item_form(
    m.TeamMember, ("name", "position", "organisation", "role", "responsibility", "user", "order")
)
SwotItemForm = item_form(m.SwotItem, ("quadrant", "text_vi", "text_en", "order"))
AssessmentItemForm = item_form(
    m.AssessmentItem, ("area", "question_vi", "question_en", "score", "evidence", "evidence_file", "order")
)
RiskForm = item_form(
    m.Risk, ("title_vi", "title_en", "likelihood", "impact", "project", "owner", "mitigation", "status")
)


class _StakeholderBase(ItemForm):
    def extra_initial(self, instance) -> dict:
        return {"mechanisms": list(instance.mechanisms or [])}


StakeholderForm = item_form(
    m.Stakeholder,
    ("name", "kind", "organisation", "influence", "interest", "note", "is_published"),
    base=_StakeholderBase,
    mechanisms=forms.MultipleChoiceField(
        label=_("Participation mechanisms"),
        choices=m.Stakeholder.Mechanism.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    ),
)
CommitmentForm = item_form(
    m.Commitment, ("stakeholder", "project", "text_vi", "text_en", "made_on", "due_on", "status")
)

# --- Goals and targets -------------------------------------------------------------------------------

GoalForm = item_form(
    m.Goal, ("code", "title_vi", "title_en", "description_vi", "description_en", "order", "is_published")
)
TargetForm = item_form(
    m.Target,
    (
        "goal",
        "kpi_code",
        "label_vi",
        "label_en",
        "unit",
        "baseline_value",
        "baseline_year",
        "target_value",
        "deadline",
        "higher_is_better",
    ),
)

# --- Projects and their parts ------------------------------------------------------------------------

ProjectForm = item_form(
    m.Project,
    (
        "code",
        "title_vi",
        "title_en",
        "kind",
        "domain",
        "agency",
        "investment_model",
        "status",
        "starts_on",
        "ends_on",
        "scaled_from",
        "solution_vi",
        "solution_en",
        "is_published",
    ),
)
GoalProjectForm = item_form(m.GoalProject, ("goal", "weight"))
BudgetLineForm = item_form(m.BudgetLine, ("year", "source", "kind", "planned_vnd", "disbursed_vnd"))
PhaseForm = item_form(m.Phase, ("name_vi", "name_en", "kind", "starts_on", "ends_on", "order"))
MilestoneForm = item_form(
    m.Milestone, ("title_vi", "title_en", "phase", "due_on", "done_on", "weight", "progress")
)
ProjectPartnerForm = item_form(
    m.ProjectPartner, ("organisation", "role", "agreement", "value_vnd", "services")
)
ProjectRiskForm = item_form(
    m.Risk, ("title_vi", "title_en", "likelihood", "impact", "owner", "mitigation", "status")
)


class _LessonBase(ItemForm):
    def extra_initial(self, instance) -> dict:
        return {"tags": ", ".join(instance.tags or [])}

    def clean_tags(self) -> list[str]:
        return [t.strip() for t in self.cleaned_data.get("tags", "").split(",") if t.strip()]


LessonForm = item_form(
    m.Lesson,
    ("title", "worked", "did_not_work", "good_practice", "is_shared"),
    base=_LessonBase,
    tags=forms.CharField(
        label=_("Tags"), required=False, max_length=300, help_text=_("Separated by commas.")
    ),
)


class AlternativeForm(StyledForm):
    """One technology alternative of a project (kept in `Project.alternatives`)."""

    option = forms.CharField(label=_("Option"), max_length=200)
    pros = forms.CharField(
        label=_("Advantages"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    cons = forms.CharField(
        label=_("Disadvantages"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    chosen = forms.BooleanField(label=_("Chosen"), required=False)


# --- Innovation, training, cooperation ---------------------------------------------------------------

ChallengeForm = item_form(
    m.Challenge,
    (
        "code",
        "title_vi",
        "title_en",
        "description_vi",
        "description_en",
        "opens_on",
        "closes_on",
        "status",
        "projects",
    ),
)
TrainingCourseForm = item_form(
    m.TrainingCourse, ("title_vi", "title_en", "provider", "topic", "starts_on", "ends_on", "hours")
)


class CompletionForm(ItemForm):
    """A staff member who completed a course (services.training_complete)."""

    model = m.TrainingCompletion
    course = forms.ModelChoiceField(label=_("Course"), queryset=m.TrainingCourse.objects.none())
    user = forms.ModelChoiceField(label=_("Staff member"), queryset=get_user_model().objects.none())
    completed_on = forms.DateField(label=_("Completed on"), widget=forms.DateInput(attrs={"type": "date"}))
    field_names = ("course", "user", "completed_on")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["course"].queryset = m.TrainingCourse.objects.filter(programme=self.programme)
        self.fields["user"].queryset = (
            get_user_model()
            .objects.filter(memberships__city=self.city, is_active=True)
            .distinct()
            .order_by("username")
        )


CooperationForm = item_form(
    m.Cooperation,
    ("kind", "partner", "title_vi", "title_en", "since", "until", "description", "is_published"),
)


class LessonSearchForm(StyledForm):
    q = forms.CharField(label=_("Search lessons"), required=False, max_length=200)
