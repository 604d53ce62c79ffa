"""Writes of the programme module: a generic create/update/delete for every model of the module, validated
by a table of cleaners (`SPECS`), the plan's workflow (`programme_transition`), its versions
(`plan_version_save`), the progress roll-up (`recompute_progress`), course completions and lessons.

Every service is keyword-only and runs in one transaction; bad input raises a `dothi.core.errors`
DomainError (with a translated message and `field=`) before anything is written, and every write leaves an
audit record. The council (`programme.edit`) writes everything; for a project and its children (phases,
milestones, lessons, risks of the project, the disbursement of its budget lines) `programme.project.update`
suffices for the managers and staff of the project's responsible agency (`selectors.can_update_project`).
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import File
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from dothi.core import audit
from dothi.core.errors import Conflict, InvalidInput, OutsideCity
from dothi.core.models import AuditEvent, City, CityOwned
from dothi.core.parsing import clean_text
from dothi.core.permissions import can, require
from dothi.programme import selectors
from dothi.programme.models import (
    AssessmentItem,
    BudgetLine,
    Challenge,
    Commitment,
    Cooperation,
    Goal,
    GoalProject,
    Lesson,
    Milestone,
    Phase,
    PlanVersion,
    Programme,
    Project,
    ProjectPartner,
    Risk,
    Stakeholder,
    SwotItem,
    Target,
    TeamMember,
    TrainingCompletion,
    TrainingCourse,
)

EDIT = "programme.edit"
PROJECT_UPDATE = "programme.project.update"
PS = Programme.Status

TEXT_MAX = 10_000  # a TextField's limit
YEAR_MIN, YEAR_MAX = 1990, 2100
MONEY_MAX = 10**18  # fits a BigIntegerField
WEIGHT_MAX = 1_000_000.0
EVIDENCE_MAX_BYTES = 10 * 1024 * 1024
ALTERNATIVES_MAX = 20
TAGS_MAX = 20
TAG_MAX_LEN = 50
_SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")

# The plan's workflow: from a status, the statuses it may move to.
TRANSITIONS: dict[str, frozenset[str]] = {
    PS.DRAFT: frozenset({PS.CONSULTATION, PS.SUBMITTED}),
    PS.CONSULTATION: frozenset({PS.DRAFT, PS.SUBMITTED}),
    PS.SUBMITTED: frozenset({PS.DRAFT, PS.CONSULTATION, PS.APPROVED}),
    PS.APPROVED: frozenset({PS.SUPERSEDED}),
    PS.SUPERSEDED: frozenset(),
}

# The fields of a project its responsible agency may change (the rest is the council's).
PROJECT_AGENCY_FIELDS = frozenset(
    {"status", "starts_on", "ends_on", "solution_vi", "solution_en", "alternatives"}
)
# ... and of a budget line: only the disbursement.
BUDGET_AGENCY_FIELDS = frozenset({"disbursed_vnd"})


# --- Field cleaners ---------------------------------------------------------------------------------------
# A cleaner takes (value, field name, city) and returns the value to store, or raises InvalidInput.

Cleaner = Callable[[Any, str, City], Any]


def _text(max_len: int, *, required: bool) -> Cleaner:
    def clean(value: Any, name: str, city: City) -> str:
        return clean_text(value, field=name, max_len=max_len, required=required)

    return clean


def _slug(max_len: int) -> Cleaner:
    def clean(value: Any, name: str, city: City) -> str:
        text = clean_text(value, field=name, max_len=max_len, required=True)
        if not _SLUG.match(text):
            raise InvalidInput(
                _("Use only letters without accents, digits, hyphens and underscores."),
                field=name,
                code="invalid_slug",
            )
        return text

    return clean


def _choice(choices: Iterable[tuple[str, Any]], *, required: bool = True) -> Cleaner:
    values = [str(v) for v, _label in choices]

    def clean(value: Any, name: str, city: City) -> str:
        if value in (None, "") and not required:
            return ""
        if value not in values:
            raise InvalidInput(
                _("Unknown value: choose one of %(values)s.") % {"values": ", ".join(values)},
                field=name,
                code="invalid_choice",
            )
        return str(value)

    return clean


def _integer(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise InvalidInput(_("This must be a whole number."), field=name, code="invalid_number")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        value = int(value)
    if not isinstance(value, int):
        raise InvalidInput(_("This must be a whole number."), field=name, code="invalid_number")
    return value


def _int(lo: int | None, hi: int | None, *, nullable: bool = False, message: str | None = None) -> Cleaner:
    def clean(value: Any, name: str, city: City) -> int | None:
        if value in (None, "") and nullable:
            return None
        number = _integer(value, name)
        if (lo is not None and number < lo) or (hi is not None and number > hi):
            if message:
                raise InvalidInput(message, field=name, code="out_of_range")
            if hi is None:
                text = _("The number must be at least %(min)d.") % {"min": lo}
            else:
                text = _("The number must be between %(min)d and %(max)d.") % {"min": lo or 0, "max": hi}
            raise InvalidInput(text, field=name, code="out_of_range")
        return number

    return clean


def _score(*, nullable: bool) -> Cleaner:
    return _int(1, 5, nullable=nullable, message=_("A score is a whole number from 1 to 5."))


def _year() -> Cleaner:
    return _int(
        YEAR_MIN,
        YEAR_MAX,
        message=_("A year between %(min)d and %(max)d.") % {"min": YEAR_MIN, "max": YEAR_MAX},
    )


def _money() -> Cleaner:
    return _int(0, MONEY_MAX, message=_("An amount of money is a whole number of đồng, zero or more."))


def _float(lo: float | None, hi: float | None) -> Cleaner:
    def clean(value: Any, name: str, city: City) -> float:
        if isinstance(value, bool):
            raise InvalidInput(_("This must be a number."), field=name, code="invalid_number")
        if isinstance(value, str):
            try:
                value = float(value.strip().replace(",", "."))
            except ValueError:
                raise InvalidInput(_("This must be a number."), field=name, code="invalid_number") from None
        if not isinstance(value, int | float) or value != value or value in (float("inf"), float("-inf")):
            raise InvalidInput(_("This must be a number."), field=name, code="invalid_number")
        if lo is not None and value < lo:
            raise InvalidInput(
                _("The number must be at least %(min)s.") % {"min": lo}, field=name, code="out_of_range"
            )
        if hi is not None and value > hi:
            raise InvalidInput(
                _("The number must be at most %(max)s.") % {"max": hi}, field=name, code="out_of_range"
            )
        return float(value)

    return clean


def _date(*, nullable: bool) -> Cleaner:
    def clean(value: Any, name: str, city: City) -> datetime.date | None:
        if value in (None, ""):
            if nullable:
                return None
            raise InvalidInput(_("This field is required."), field=name, code="required")
        if isinstance(value, str):
            try:
                parsed = parse_date(value.strip())
            except ValueError:
                parsed = None
            if parsed is None:
                raise InvalidInput(_("This is not a date (YYYY-MM-DD)."), field=name, code="invalid_date")
            value = parsed
        if isinstance(value, datetime.datetime) or not isinstance(value, datetime.date):
            raise InvalidInput(_("This is not a date (YYYY-MM-DD)."), field=name, code="invalid_date")
        return value

    return clean


def _bool(value: Any, name: str, city: City) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(_("This must be true or false."), field=name, code="invalid_boolean")
    return value


def _ref(model: type[models.Model], *, nullable: bool) -> Cleaner:
    """A row of `model` (an instance or its primary key) that belongs to the city; a user must hold a
    staff role in the city."""
    User = get_user_model()

    def clean(value: Any, name: str, city: City) -> models.Model | None:
        if value in (None, ""):
            if nullable:
                return None
            raise InvalidInput(_("This field is required."), field=name, code="required")
        if isinstance(value, models.Model):
            if not isinstance(value, model) or value.pk is None:
                raise InvalidInput(
                    _("This is not the right kind of record."), field=name, code="invalid_reference"
                )
            obj = value
        else:
            try:
                obj = model._default_manager.filter(pk=_integer(value, name)).first()
            except InvalidInput:
                obj = None
            if obj is None:
                raise InvalidInput(_("This record does not exist."), field=name, code="not_found")
        if issubclass(model, CityOwned) and obj.city_id != city.pk:
            raise OutsideCity(_("This record belongs to another city."), field=name)
        if model is User and not obj.memberships.filter(city=city).exists():
            raise OutsideCity(_("This person holds no staff role in this city."), field=name)
        return obj

    return clean


def _alternatives(value: Any, name: str, city: City) -> list[dict[str, Any]]:
    """Technology alternatives: a list of {option, pros, cons, chosen}; at most one chosen."""
    if value in (None, ""):
        return []
    if not isinstance(value, list) or len(value) > ALTERNATIVES_MAX:
        raise InvalidInput(
            _("Give at most %(max)d alternatives, each with an option, pros, cons and whether it was chosen.")
            % {"max": ALTERNATIVES_MAX},
            field=name,
            code="invalid_alternatives",
        )
    cleaned = []
    for item in value:
        if not isinstance(item, dict) or set(item) - {"option", "pros", "cons", "chosen"}:
            raise InvalidInput(
                _("Each alternative has only an option, pros, cons and whether it was chosen."),
                field=name,
                code="invalid_alternatives",
            )
        chosen = item.get("chosen", False)
        if not isinstance(chosen, bool):
            raise InvalidInput(_("“Chosen” must be true or false."), field=name, code="invalid_alternatives")
        cleaned.append(
            {
                "option": clean_text(
                    item.get("option"),
                    field=name,
                    max_len=300,
                    required=True,
                    message=_("Each alternative needs an option."),
                ),
                "pros": clean_text(item.get("pros"), field=name, max_len=2000),
                "cons": clean_text(item.get("cons"), field=name, max_len=2000),
                "chosen": chosen,
            }
        )
    if sum(item["chosen"] for item in cleaned) > 1:
        raise InvalidInput(
            _("Only one alternative can be the chosen one."), field=name, code="invalid_alternatives"
        )
    return cleaned


def _mechanisms(value: Any, name: str, city: City) -> list[str]:
    if value in (None, ""):
        return []
    values = Stakeholder.Mechanism.values
    if not isinstance(value, list) or any(item not in values for item in value):
        raise InvalidInput(
            _("Participation mechanisms are a list of: %(values)s.") % {"values": ", ".join(values)},
            field=name,
            code="invalid_choice",
        )
    return list(dict.fromkeys(value))  # in order, once each


def _tags(value: Any, name: str, city: City) -> list[str]:
    if value in (None, ""):
        return []
    if not isinstance(value, list) or len(value) > TAGS_MAX:
        raise InvalidInput(
            _("Give at most %(max)d tags.") % {"max": TAGS_MAX}, field=name, code="invalid_tags"
        )
    tags = [clean_text(tag, field=name, max_len=TAG_MAX_LEN, required=True) for tag in value]
    return list(dict.fromkeys(tags))


def _evidence_file(value: Any, name: str, city: City) -> File | str:
    if value in (None, ""):
        return ""
    if not isinstance(value, File):
        raise InvalidInput(_("This is not a file."), field=name, code="invalid_file")
    size = getattr(value, "size", None)
    if not size:
        raise InvalidInput(_("The file is empty."), field=name, code="empty_file")
    if size > EVIDENCE_MAX_BYTES:
        raise InvalidInput(
            _("The file must be at most %(mb)d MB.") % {"mb": EVIDENCE_MAX_BYTES // (1024 * 1024)},
            field=name,
            code="file_too_big",
        )
    return value


def _derive(model_field: models.Field) -> Cleaner:
    """The cleaner a plain model field calls for (text lengths, choices, ranges from its validators)."""
    f = model_field
    optional = f.null or f.blank
    if isinstance(f, models.ForeignKey):
        return _ref(f.related_model, nullable=f.null)
    if isinstance(f, models.BooleanField):
        return _bool
    if isinstance(f, models.DateField):
        return _date(nullable=f.null)
    if f.choices:
        return _choice(f.choices, required=not f.blank)
    if isinstance(f, models.SlugField):
        return _slug(f.max_length)
    if isinstance(f, models.CharField):
        return _text(f.max_length, required=not f.blank)
    if isinstance(f, models.TextField):
        return _text(TEXT_MAX, required=not f.blank)
    lo = next((v.limit_value for v in f.validators if isinstance(v, MinValueValidator)), None)
    hi = next((v.limit_value for v in f.validators if isinstance(v, MaxValueValidator)), None)
    if isinstance(f, models.FloatField):
        return _float(lo, WEIGHT_MAX if hi is None else hi)
    if isinstance(f, models.BigIntegerField):
        return _money()
    if isinstance(f, models.IntegerField):
        if (lo, hi) == (1, 5):
            return _score(nullable=optional)
        return _int(0 if lo is None else lo, 32_767 if hi is None else hi, nullable=f.null)
    raise TypeError(f"No cleaner for {f!r}")  # pragma: no cover - a new field type needs one


# --- Cross-field checks -----------------------------------------------------------------------------------
# A check takes the merged state (field name -> value, the row's current values with the new ones on top)
# and the city, and raises InvalidInput.


def _dates_in_order(first: str, last: str) -> Callable[[dict, City], None]:
    def check(data: dict, city: City) -> None:
        start, end = data.get(first), data.get(last)
        if start and end and end < start:
            raise InvalidInput(
                _("The end date cannot be before the start date."), field=last, code="date_order"
            )

    return check


def _period(data: dict, city: City) -> None:
    start, end = data.get("period_start"), data.get("period_end")
    if start is not None and end is not None and end < start:
        raise InvalidInput(
            _("The period cannot end before it starts."), field="period_end", code="date_order"
        )
    if start is not None and end is not None and end - start > 30:
        raise InvalidInput(_("A programme spans at most 30 years."), field="period_end", code="out_of_range")


def _same_programme(name: str, *, parent: str = "programme") -> Callable[[dict, City], None]:
    """`data[name]` (a goal, project, stakeholder…) belongs to the same programme as the row."""

    def check(data: dict, city: City) -> None:
        other, programme = data.get(name), data.get(parent)
        if other is None or programme is None:
            return
        if parent != "programme":
            programme = getattr(programme, "programme", None)
        if other.programme_id != programme.pk:
            raise InvalidInput(_("This belongs to another programme."), field=name, code="other_programme")

    return check


def _phase_of_project(data: dict, city: City) -> None:
    phase, project = data.get("phase"), data.get("project")
    if phase is not None and project is not None and phase.project_id != project.pk:
        raise InvalidInput(_("This phase belongs to another project."), field="phase", code="other_project")


def _milestone_done(data: dict, city: City) -> None:
    # A milestone marked done is complete.
    if data.get("done_on"):
        data["progress"] = 100


def _not_itself(data: dict, city: City) -> None:
    pilot, pk = data.get("scaled_from"), data.get("pk")
    if pilot is not None and pk is not None and pilot.pk == pk:
        raise InvalidInput(
            _("A project cannot scale up itself."), field="scaled_from", code="invalid_reference"
        )


def _budget_year(data: dict, city: City) -> None:
    project, year = data.get("project"), data.get("year")
    if project is None or year is None:
        return
    programme = project.programme
    if not programme.period_start <= year <= programme.period_end:
        raise InvalidInput(
            _("The year must be within the programme's period (%(start)d–%(end)d).")
            % {"start": programme.period_start, "end": programme.period_end},
            field="year",
            code="out_of_range",
        )


def _target_years(data: dict, city: City) -> None:
    year, deadline = data.get("baseline_year"), data.get("deadline")
    if year is not None and deadline is not None and deadline.year < year:
        raise InvalidInput(
            _("The deadline cannot be before the baseline year."), field="deadline", code="date_order"
        )


def _completion(data: dict, city: City) -> None:
    course, done = data.get("course"), data.get("completed_on")
    if course is not None and done is not None and done < course.starts_on:
        raise InvalidInput(
            _("A course cannot be completed before it starts."), field="completed_on", code="date_order"
        )


def _challenge_projects(data: dict, city: City) -> None:
    programme = data.get("programme")
    for project in data.get("projects") or []:
        if programme is not None and project.programme_id != programme.pk:
            raise InvalidInput(
                _("This belongs to another programme."), field="projects", code="other_programme"
            )


def _projects_list(value: Any, name: str, city: City) -> list[Project]:
    if value in (None, ""):
        return []
    if not isinstance(value, list | tuple):
        raise InvalidInput(_("Give a list of projects."), field=name, code="invalid_reference")
    one = _ref(Project, nullable=False)
    return list({p.pk: p for p in (one(item, name, city) for item in value)}.values())


# --- The table --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    """How one model of the module is written: its editable fields (`fields`; a cleaner is derived from the
    model field unless `cleaners` names one), its parent (set on creation, never changed), the checks
    across fields, and whether its project's agency may write it (`project_path`: how to reach the
    project from the merged data, or None when only the council writes it)."""

    model: type[models.Model]
    fields: tuple[str, ...]
    parent: str | None = None
    cleaners: dict[str, Cleaner] = field(default_factory=dict)
    checks: tuple[Callable[[dict, City], None], ...] = ()
    project_path: Callable[[dict], Project | None] | None = None
    agency_fields: frozenset[str] | None = None  # None: every field
    agency_creates: bool = True  # may the agency create and delete rows (not only update them)?
    m2m: tuple[str, ...] = ()

    def cleaner(self, name: str) -> Cleaner:
        if name in self.cleaners:
            return self.cleaners[name]
        return _derive(self.model._meta.get_field(name))


def _project(data: dict) -> Project | None:
    return data.get("project")


SPECS: dict[str, Spec] = {
    "programme": Spec(
        Programme,
        fields=(
            "code",
            "title_vi",
            "title_en",
            "vision_vi",
            "vision_en",
            "principles_vi",
            "principles_en",
            "scope_vi",
            "scope_en",
            "period_start",
            "period_end",
            "decision_number",
            "decision_date",
            "decision_authority",
            "is_published",
        ),
        cleaners={"period_start": _year(), "period_end": _year()},
        checks=(_period,),
    ),
    "team_member": Spec(
        TeamMember,
        parent="programme",
        fields=("user", "name", "position", "organisation", "role", "responsibility", "order"),
    ),
    "swot_item": Spec(SwotItem, parent="programme", fields=("quadrant", "text_vi", "text_en", "order")),
    "assessment_item": Spec(
        AssessmentItem,
        parent="programme",
        fields=(
            "area",
            "question_vi",
            "question_en",
            "score",
            "evidence",
            "evidence_file",
            "assessed_by",
            "assessed_at",
            "order",
        ),
        cleaners={"evidence_file": _evidence_file, "assessed_at": lambda v, n, c: _assessed_at(v, n)},
    ),
    "goal": Spec(
        Goal,
        parent="programme",
        fields=("code", "title_vi", "title_en", "description_vi", "description_en", "order", "is_published"),
        cleaners={"code": _text(20, required=True)},
    ),
    "target": Spec(
        Target,
        parent="goal",
        fields=(
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
        cleaners={
            "baseline_value": _float(None, None),
            "target_value": _float(None, None),
            "baseline_year": _year(),
        },
        checks=(_target_years,),
    ),
    "project": Spec(
        Project,
        parent="programme",
        fields=(
            "code",
            "title_vi",
            "title_en",
            "kind",
            "domain",
            "solution_vi",
            "solution_en",
            "alternatives",
            "agency",
            "investment_model",
            "status",
            "starts_on",
            "ends_on",
            "scaled_from",
            "is_published",
        ),
        cleaners={"alternatives": _alternatives},
        checks=(_dates_in_order("starts_on", "ends_on"), _not_itself),
        project_path=lambda data: data.get("self"),
        agency_fields=PROJECT_AGENCY_FIELDS,
        agency_creates=False,
    ),
    "goal_project": Spec(
        GoalProject,
        fields=("goal", "project", "weight"),
        checks=(_same_programme("project", parent="goal"),),
    ),
    "budget_line": Spec(
        BudgetLine,
        parent="project",
        fields=("year", "source", "kind", "planned_vnd", "disbursed_vnd"),
        cleaners={"year": _year()},
        checks=(_budget_year,),
        project_path=_project,
        agency_fields=BUDGET_AGENCY_FIELDS,
        agency_creates=False,
    ),
    "phase": Spec(
        Phase,
        parent="project",
        fields=("name_vi", "name_en", "kind", "starts_on", "ends_on", "order"),
        checks=(_dates_in_order("starts_on", "ends_on"),),
        project_path=_project,
    ),
    "milestone": Spec(
        Milestone,
        parent="project",
        fields=("phase", "title_vi", "title_en", "due_on", "done_on", "weight", "progress"),
        checks=(_phase_of_project, _milestone_done),
        project_path=_project,
    ),
    "project_partner": Spec(
        ProjectPartner,
        parent="project",
        fields=("organisation", "role", "agreement", "value_vnd", "services"),
        checks=(lambda data, city: _agreement_of(data),),
    ),
    "risk": Spec(
        Risk,
        parent="programme",
        fields=("project", "title_vi", "title_en", "likelihood", "impact", "owner", "mitigation", "status"),
        checks=(_same_programme("project"),),
        project_path=_project,
    ),
    "stakeholder": Spec(
        Stakeholder,
        parent="programme",
        fields=(
            "organisation",
            "name",
            "kind",
            "influence",
            "interest",
            "mechanisms",
            "note",
            "is_published",
        ),
        cleaners={"mechanisms": _mechanisms},
    ),
    "commitment": Spec(
        Commitment,
        parent="stakeholder",
        fields=("project", "text_vi", "text_en", "made_on", "due_on", "status"),
        checks=(_same_programme("project", parent="stakeholder"), _dates_in_order("made_on", "due_on")),
    ),
    "challenge": Spec(
        Challenge,
        parent="programme",
        fields=(
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
        cleaners={"projects": _projects_list},
        checks=(_dates_in_order("opens_on", "closes_on"), _challenge_projects),
        m2m=("projects",),
    ),
    "training_course": Spec(
        TrainingCourse,
        parent="programme",
        fields=("title_vi", "title_en", "provider", "topic", "starts_on", "ends_on", "hours"),
        checks=(_dates_in_order("starts_on", "ends_on"),),
    ),
    "training_completion": Spec(
        TrainingCompletion,
        parent="course",
        fields=("user", "organisation", "completed_on"),
        checks=(_completion,),
    ),
    "cooperation": Spec(
        Cooperation,
        parent="programme",
        fields=("kind", "partner", "title_vi", "title_en", "since", "until", "description", "is_published"),
        checks=(_dates_in_order("since", "until"),),
    ),
    "lesson": Spec(
        Lesson,
        parent="project",
        fields=("title", "worked", "did_not_work", "good_practice", "tags", "is_shared"),
        cleaners={"tags": _tags},
        project_path=_project,
    ),
}
# Django's model names ("projectpartner") name the same specs as the table's ("project_partner").
_BY_MODEL: dict[type[models.Model], str] = {spec.model: key for key, spec in SPECS.items()}
_ALIASES: dict[str, str] = {spec.model._meta.model_name: key for key, spec in SPECS.items()}


def _assessed_at(value: Any, name: str):
    if value in (None, ""):
        return None
    if not isinstance(value, datetime.datetime):
        raise InvalidInput(_("This is not a date and time."), field=name, code="invalid_datetime")
    return value


def _agreement_of(data: dict) -> None:
    agreement, organisation = data.get("agreement"), data.get("organisation")
    if agreement is not None and organisation is not None and agreement.organisation_id != organisation.pk:
        raise InvalidInput(
            _("This agreement was signed with another organisation."),
            field="agreement",
            code="other_organisation",
        )


def _spec_named(model: str) -> tuple[str, Spec]:
    key = _ALIASES.get(str(model).lower(), str(model).lower())
    if key not in SPECS:
        raise InvalidInput(_("Unknown kind of record."), field="model", code="unknown_model")
    return key, SPECS[key]


def _spec_of(obj: models.Model) -> tuple[str, Spec]:
    key = _BY_MODEL.get(type(obj))
    if key is None:
        raise InvalidInput(_("This record cannot be changed here."), field="model", code="unknown_model")
    return key, SPECS[key]


# --- Permission -------------------------------------------------------------------------------------------


def _require_write(
    actor, spec: Spec, data: dict, city: City, *, changed: Iterable[str], creating: bool
) -> None:
    """The council writes everything; the project's agency writes what `spec` lets it on its projects."""
    project = spec.project_path(data) if spec.project_path else None
    if project is None or (creating and not spec.agency_creates):
        require(actor, EDIT, city)
        return
    require(actor, PROJECT_UPDATE, city)
    if not selectors.can_update_project(actor, project):
        raise PermissionDenied(
            _("Only the council and the project's responsible agency can change this project.")
        )
    if spec.agency_fields is not None and not _council(actor, city):
        extra = sorted(set(changed) - spec.agency_fields)
        if extra:
            raise PermissionDenied(
                _("Only the council can change these fields: %(fields)s.") % {"fields": ", ".join(extra)}
            )


def _council(actor, city: City) -> bool:
    return can(actor, EDIT, city)


# --- The generic writes -----------------------------------------------------------------------------------


def _clean(spec: Spec, fields: dict[str, Any], city: City) -> dict[str, Any]:
    unknown = sorted(set(fields) - set(spec.fields))
    if unknown:
        raise InvalidInput(
            _("This field cannot be set here: %(field)s.") % {"field": unknown[0]},
            field=unknown[0],
            code="unknown_field",
        )
    return {name: spec.cleaner(name)(value, name, city) for name, value in fields.items()}


def _current(obj: models.Model, spec: Spec) -> dict[str, Any]:
    """The row's values by field name (a relation not set yet is None), with its primary key and itself."""
    data: dict[str, Any] = {"pk": obj.pk, "self": obj if obj.pk else None}
    for name in [*spec.fields, *([spec.parent] if spec.parent else [])]:
        if name in spec.m2m:
            data[name] = list(getattr(obj, name).all()) if obj.pk else []
            continue
        model_field = spec.model._meta.get_field(name)
        if model_field.is_relation and getattr(obj, model_field.attname) is None:
            data[name] = None
        else:
            data[name] = getattr(obj, name)
    return data


def _check(spec: Spec, data: dict, city: City) -> None:
    for check in spec.checks:
        check(data, city)


def _validate_unique(obj: models.Model, spec: Spec) -> None:
    """A row that would break a unique constraint (the same code twice…) is a Conflict on its first field
    other than the city and the parent."""
    for constraint in obj._meta.constraints:
        try:
            constraint.validate(type(obj), obj)
        except ValidationError as exc:
            names = [n for n in getattr(constraint, "fields", ()) if n not in ("city", spec.parent)]
            raise Conflict(
                _("A record with the same values already exists."),
                code="duplicate",
                field=names[0] if names else None,
            ) from exc


def _apply(obj: models.Model, spec: Spec, data: dict, names: Iterable[str]) -> None:
    for name in names:
        if name in spec.m2m:
            continue
        if name == "evidence_file":
            continue  # saved below with its storage
        setattr(obj, name, data[name])


def _save(obj: models.Model, spec: Spec, data: dict, names: Iterable[str]) -> None:
    names = list(names)
    _apply(obj, spec, data, names)
    if isinstance(obj, Lesson):
        obj.search_key = selectors.lesson_key(obj)
    _validate_unique(obj, spec)
    upload = data.get("evidence_file") if "evidence_file" in names else None
    if "evidence_file" in names and not upload:
        obj.evidence_file = ""
    obj.save()
    if upload:
        obj.evidence_file.save(getattr(upload, "name", "evidence") or "evidence", upload, save=True)
    for name in spec.m2m:
        if name in names:
            getattr(obj, name).set(data[name])


def _affects_progress(obj: models.Model) -> list[Project]:
    if isinstance(obj, Milestone | GoalProject):
        return [obj.project]
    return []


def _record(actor, obj: models.Model, action: str, key: str, *, city: City, **details) -> None:
    audit.record(
        actor=actor,
        action=action,
        obj=obj,
        city=city,
        summary=f"programme.{key} {action} #{obj.pk}",
        details={"model": key, **details},
    )


def create(*, actor, model: str, city: City, **fields: Any) -> models.Model:
    """Create a row of the module's `model` (a key of `SPECS`, e.g. "milestone", or Django's model name) in
    `city`; `fields` are validated by the model's cleaners and must include its parent (e.g. `project=`)."""
    key, spec = _spec_named(model)
    parent_value = fields.pop(spec.parent, None) if spec.parent else None
    with transaction.atomic():
        obj = spec.model(**({"city": city} if issubclass(spec.model, CityOwned) else {}))
        data = _current(obj, spec)  # the model's defaults
        if spec.parent:
            parent_model = spec.model._meta.get_field(spec.parent).related_model
            data[spec.parent] = _ref(parent_model, nullable=False)(parent_value, spec.parent, city)
        cleaned = _clean(spec, fields, city)
        _require_missing(spec, cleaned)
        data.update(cleaned)
        _check(spec, data, city)
        _require_write(actor, spec, data, city, changed=cleaned, creating=True)
        if spec.parent:
            setattr(obj, spec.parent, data[spec.parent])
        if isinstance(obj, Lesson):
            obj.created_by = actor if getattr(actor, "is_authenticated", False) else None
        _save(obj, spec, data, [n for n in spec.fields if n in cleaned or n not in spec.m2m])
        _record(actor, obj, AuditEvent.Action.CREATE, key, city=city, fields=sorted(cleaned))
        for project in _affects_progress(obj):
            recompute_progress(project)
    return obj


def _require_missing(spec: Spec, cleaned: dict) -> None:
    """A field the model requires and the caller did not give (it has no default) is refused."""
    for name in spec.fields:
        if name in cleaned or name in spec.m2m:
            continue
        model_field = spec.model._meta.get_field(name)
        if not (model_field.has_default() or model_field.null or model_field.blank):
            raise InvalidInput(_("This field is required."), field=name, code="required")


def update(*, actor, obj: models.Model, **fields: Any) -> models.Model:
    """Change some fields of a row of the module; the others keep their values."""
    key, spec = _spec_of(obj)
    if spec.parent and spec.parent in fields:
        raise InvalidInput(
            _("This cannot be moved to another parent."), field=spec.parent, code="unknown_field"
        )
    city = _city_of(obj)
    with transaction.atomic():
        obj = type(obj)._default_manager.select_for_update().get(pk=obj.pk)
        cleaned = _clean(spec, fields, city)
        before = _current(obj, spec)
        data = {**before, **cleaned}
        _check(spec, data, city)
        changed = [name for name in cleaned if data[name] != before.get(name)]
        _require_write(actor, spec, before, city, changed=changed, creating=False)
        if spec.project_path and spec.model is not Project:
            # Moving a risk to another project needs the right on that project too.
            _require_write(actor, spec, data, city, changed=changed, creating=False)
        old_projects = _affects_progress(obj)
        _save(
            obj, spec, data, [*cleaned, *(["progress"] if "progress" in data and key == "milestone" else [])]
        )
        _record(actor, obj, AuditEvent.Action.UPDATE, key, city=city, fields=sorted(changed))
        for project in {p.pk: p for p in [*old_projects, *_affects_progress(obj)]}.values():
            recompute_progress(project)
    return obj


def delete(*, actor, obj: models.Model) -> None:
    """Delete a row of the module (and what cascades from it). An approved or superseded programme is a
    record of a decision and is not deleted."""
    key, spec = _spec_of(obj)
    city = _city_of(obj)
    with transaction.atomic():
        obj = type(obj)._default_manager.select_for_update().get(pk=obj.pk)
        data = _current(obj, spec)
        # Deleting needs the rights of creating (a project and a budget line: the council only).
        _require_write(actor, spec, data, city, changed=(), creating=True)
        if isinstance(obj, Programme) and obj.status in (PS.APPROVED, PS.SUPERSEDED):
            raise Conflict(_("An approved programme is a record of a decision and cannot be deleted."))
        goals = _goals_touched(obj)
        projects = _affects_progress(obj)
        pk = obj.pk
        _record(actor, obj, AuditEvent.Action.DELETE, key, city=city)
        obj.delete()
        obj.pk = pk
        for project in projects:
            if Project.objects.filter(pk=project.pk).exists():
                recompute_progress(project)
        for goal in goals:
            _recompute_goal(goal)


def _goals_touched(obj: models.Model) -> list[Goal]:
    """The goals whose progress depends on `obj` once it is gone (a project or a contribution)."""
    if isinstance(obj, Project):
        return list(Goal.objects.filter(contributions__project=obj).distinct())
    if isinstance(obj, GoalProject):
        return [obj.goal]
    return []


def _city_of(obj: models.Model) -> City:
    if isinstance(obj, GoalProject):
        return obj.goal.city
    return obj.city


# --- The plan's workflow and versions ---------------------------------------------------------------------


def programme_transition(
    *,
    actor,
    programme: Programme,
    status: str,
    decision_number: str = "",
    decision_date: datetime.date | None = None,
    decision_authority: str = "",
) -> Programme:
    """Move the plan along draft → consultation → submitted → approved → superseded (or back to draft from
    consultation or submitted). Approving needs the decision's number and date, takes a version of the plan
    and supersedes the city's earlier approved programme."""
    city = programme.city
    require(actor, EDIT, city)
    status = _choice(PS.choices)(status, "status", city)
    with transaction.atomic():
        programme = Programme.objects.select_for_update().get(pk=programme.pk)
        before = programme.status
        if status not in TRANSITIONS[before]:
            raise InvalidInput(
                _("A programme cannot go from “%(from)s” to “%(to)s”.")
                % {"from": PS(before).label, "to": PS(status).label},
                field="status",
                code="invalid_transition",
            )
        changed = {"status": [before, status]}
        if status == PS.APPROVED:
            number = clean_text(
                decision_number,
                field="decision_number",
                max_len=100,
                required=True,
                message=_("Approving the programme needs the number of the decision."),
            )
            if decision_date in (None, ""):
                raise InvalidInput(
                    _("Approving the programme needs the date of the decision."),
                    field="decision_date",
                    code="required",
                )
            date = _date(nullable=False)(decision_date, "decision_date", city)
            authority = clean_text(decision_authority, field="decision_authority", max_len=200)
            programme.decision_number, programme.decision_date = number, date
            programme.decision_authority = authority or programme.decision_authority
            changed["decision_number"] = number
            changed["decision_date"] = date.isoformat()
        programme.status = status
        programme.save()
        audit.record(
            actor=actor,
            action=AuditEvent.Action.UPDATE,
            obj=programme,
            city=city,
            summary=f"programme {programme.code}: {before} → {status}",
            details={"model": "programme", "transition": changed},
        )
        if status == PS.APPROVED:
            for older in (
                Programme.objects.select_for_update()
                .filter(city=city, status=PS.APPROVED)
                .exclude(pk=programme.pk)
            ):
                older.status = PS.SUPERSEDED
                older.save(update_fields=["status", "updated_at"])
                audit.record(
                    actor=actor,
                    action=AuditEvent.Action.UPDATE,
                    obj=older,
                    city=city,
                    summary=f"programme {older.code}: approved → superseded by {programme.code}",
                    details={
                        "model": "programme",
                        "transition": {"status": [PS.APPROVED, PS.SUPERSEDED]},
                        "superseded_by": programme.pk,
                    },
                )
            _take_version(
                actor,
                programme,
                note=_("Approved: decision %(number)s") % {"number": programme.decision_number},
            )
    return programme


def plan_version_save(*, actor, programme: Programme, note: str = "") -> PlanVersion:
    """Save an immutable snapshot of the whole plan (`selectors.plan_document`) as the next version."""
    require(actor, EDIT, programme.city)
    note = clean_text(note, field="note", max_len=300)
    with transaction.atomic():
        programme = Programme.objects.select_for_update().get(pk=programme.pk)
        return _take_version(actor, programme, note=note)


def _take_version(actor, programme: Programme, *, note: str) -> PlanVersion:
    number = max(programme.version, *programme.versions.values_list("number", flat=True), 0) + 1
    # The snapshot shows the plan as this version: its number is the programme's before it is rendered.
    programme.version = number
    programme.save(update_fields=["version", "updated_at"])
    snapshot = json.loads(json.dumps(selectors.plan_document(programme), cls=DjangoJSONEncoder))
    version = PlanVersion.objects.create(
        city=programme.city,
        programme=programme,
        number=number,
        status=programme.status,
        snapshot=snapshot,
        note=str(note)[:300],
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    audit.record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        obj=version,
        city=programme.city,
        summary=f"programme {programme.code}: version {number}",
        details={"model": "plan_version", "number": number, "status": programme.status},
    )
    return version


# --- Progress ---------------------------------------------------------------------------------------------


def _weighted_mean(pairs: list[tuple[float, float]]) -> float:
    """The mean of values weighted by weights; all weights zero: the plain mean; nothing: 0."""
    if not pairs:
        return 0.0
    total = sum(weight for _value, weight in pairs)
    if total <= 0:
        return round(sum(value for value, _weight in pairs) / len(pairs), 2)
    return round(sum(value * weight for value, weight in pairs) / total, 2)


def recompute_progress(project: Project) -> Project:
    """The project's progress from its milestones (weighted by `weight`, a done milestone counts 100), then
    the progress of every goal it contributes to (its projects weighted by `GoalProject.weight`)."""
    with transaction.atomic():
        milestones = Milestone.objects.filter(project=project).values_list("progress", "done_on", "weight")
        progress = _weighted_mean(
            [(100.0 if done_on else float(value), float(weight)) for value, done_on, weight in milestones]
        )
        Project.objects.filter(pk=project.pk).update(progress=progress)
        project.progress = progress
        for goal in Goal.objects.filter(contributions__project=project).distinct():
            _recompute_goal(goal)
    return project


def _recompute_goal(goal: Goal) -> Goal:
    rows = GoalProject.objects.filter(goal=goal).values_list("project__progress", "weight")
    goal.progress = _weighted_mean([(float(progress), float(weight)) for progress, weight in rows])
    Goal.objects.filter(pk=goal.pk).update(progress=goal.progress)
    return goal


# --- Courses and lessons ----------------------------------------------------------------------------------


def training_complete(
    *, actor, course: TrainingCourse, user, completed_on: datetime.date
) -> TrainingCompletion:
    """Record that a staff member of the city completed a course (once per person and course: a second call
    corrects the date). The organisation is the person's agency in the city."""
    city = course.city
    require(actor, EDIT, city)
    user = _ref(get_user_model(), nullable=False)(user, "user", city)
    completed_on = _date(nullable=False)(completed_on, "completed_on", city)
    _completion({"course": course, "completed_on": completed_on}, city)
    organisation_id = (
        user.memberships.filter(city=city, organisation__isnull=False)
        .values_list("organisation_id", flat=True)
        .first()
    )
    with transaction.atomic():
        completion, created = TrainingCompletion.objects.select_for_update().get_or_create(
            course=course,
            user=user,
            defaults={"city": city, "completed_on": completed_on, "organisation_id": organisation_id},
        )
        if not created:
            completion.completed_on = completed_on
            completion.save(update_fields=["completed_on"])
        _record(
            actor,
            completion,
            AuditEvent.Action.CREATE if created else AuditEvent.Action.UPDATE,
            "training_completion",
            city=city,
            fields=["completed_on"],
        )
    return completion


def lesson_save(
    *, actor, lesson: Lesson | None = None, project: Project | None = None, **fields: Any
) -> Lesson:
    """Create a lesson of `project` or change `lesson`; its `search_key` (accent-free text of the title,
    texts and tags) is filled with `core.text.fold_key`. The project's agency may write its lessons."""
    if lesson is None:
        if project is None:
            raise InvalidInput(_("A lesson belongs to a project."), field="project", code="required")
        return create(actor=actor, model="lesson", city=project.city, project=project, **fields)
    return update(actor=actor, obj=lesson, **fields)
