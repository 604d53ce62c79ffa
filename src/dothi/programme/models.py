"""The smart-city programme (chương trình đô thị thông minh) of a city: its master plan (Đề án tổng thể)
with versions, the steering team, the challenges of step 2 (SWOT, current-state assessment, risks),
stakeholders and their commitments, goals with targets tied to KPIs, projects (budget by source and year,
disbursement, phases, milestones, partners), the innovation lab's challenges, capacity building,
international cooperation and lessons learned.

Users: the provincial smart-city coordination council (Hội đồng điều phối, Decree 269/2025) and its
standing agency edit; departments update their own projects; the public reads what is published
(`is_published` on each row the transparency page may show). Every change is audited; the master plan
keeps an immutable snapshot per version (`PlanVersion`).

Money is in Viet Nam đồng (VND), whole numbers.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from dothi.core.models import Agreement, CityOwned, Organisation, localised

SCORE = [MinValueValidator(1), MaxValueValidator(5)]


class Programme(CityOwned):
    """A city's smart-city programme and its master plan; one current row per city and period."""

    class Status(models.TextChoices):
        DRAFT = "draft", pgettext_lazy("plan status", "Draft")
        CONSULTATION = "consultation", _("In consultation")
        SUBMITTED = "submitted", _("Submitted for approval")
        APPROVED = "approved", pgettext_lazy("plan status", "Approved")
        SUPERSEDED = "superseded", _("Superseded")

    code = models.SlugField(_("code"), max_length=60)
    title_vi = models.CharField(_("title (Vietnamese)"), max_length=300)
    title_en = models.CharField(_("title (English)"), max_length=300, blank=True)
    vision_vi = models.TextField(_("vision (Vietnamese)"), blank=True)
    vision_en = models.TextField(_("vision (English)"), blank=True)
    principles_vi = models.TextField(_("principles (Vietnamese)"), blank=True)
    principles_en = models.TextField(_("principles (English)"), blank=True)
    scope_vi = models.TextField(_("scope (Vietnamese)"), blank=True)
    scope_en = models.TextField(_("scope (English)"), blank=True)
    period_start = models.PositiveSmallIntegerField(_("from year"))
    period_end = models.PositiveSmallIntegerField(_("to year"))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.DRAFT)
    # The approving decision (e.g. "Quyết định số 1234/QĐ-UBND ngày 12/05/2026").
    decision_number = models.CharField(_("decision number"), max_length=100, blank=True)
    decision_date = models.DateField(_("decision date"), null=True, blank=True)
    decision_authority = models.CharField(_("issued by"), max_length=200, blank=True)
    # The newest PlanVersion's number.
    version = models.PositiveIntegerField(pgettext_lazy("plan", "version"), default=0)
    is_published = models.BooleanField(_("published"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("programme")
        verbose_name_plural = _("programmes")
        ordering = ["-period_start", "code"]
        constraints = [models.UniqueConstraint(fields=["city", "code"], name="programme_city_code")]

    def __str__(self) -> str:
        return self.title

    @property
    def title(self) -> str:
        return localised(self.title_vi, self.title_en)


class PlanVersion(CityOwned):
    """An immutable snapshot of the whole master plan (programme, team, goals, targets, projects with
    budgets and phases, risks…) as JSON, taken when the plan is approved or when the council saves one."""

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(pgettext_lazy("plan", "version"))
    status = models.CharField(_("status"), max_length=20, choices=Programme.Status.choices)
    snapshot = models.JSONField(_("snapshot"))
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("plan version")
        verbose_name_plural = _("plan versions")
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "number"], name="programme_version_unique")
        ]


class TeamMember(CityOwned):
    """The steering team and advisers: a staff account or a named outside adviser."""

    class Role(models.TextChoices):
        CHAIR = "chair", _("Chair")
        VICE_CHAIR = "vice_chair", _("Vice-chair")
        MEMBER = "member", _("Member")
        STANDING_AGENCY = "standing_agency", _("Standing agency")
        INNOVATION_MANAGER = "innovation_manager", _("Innovation manager (the conductor)")
        ADVISER = "adviser", _("Adviser")
        SECRETARY = "secretary", _("Secretary")

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="team")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    name = models.CharField(_("name"), max_length=200)
    position = models.CharField(_("position"), max_length=200, blank=True)
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    role = models.CharField(_("role"), max_length=30, choices=Role.choices, default=Role.MEMBER)
    responsibility = models.TextField(_("responsibility"), blank=True)
    order = models.PositiveIntegerField(default=100)

    class Meta:
        verbose_name = _("team member")
        verbose_name_plural = _("steering team")
        ordering = ["order", "pk"]


class SwotItem(CityOwned):
    class Quadrant(models.TextChoices):
        STRENGTH = "S", _("Strength")
        WEAKNESS = "W", _("Weakness")
        OPPORTUNITY = "O", _("Opportunity")
        THREAT = "T", _("Threat")

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="swot")
    quadrant = models.CharField(_("quadrant"), max_length=1, choices=Quadrant.choices)
    text_vi = models.TextField(_("text (Vietnamese)"))
    text_en = models.TextField(_("text (English)"), blank=True)
    order = models.PositiveIntegerField(default=100)

    class Meta:
        verbose_name = _("SWOT item")
        verbose_name_plural = _("SWOT board")
        ordering = ["quadrant", "order", "pk"]


class AssessmentItem(CityOwned):
    """One line of the current-state assessment: a question in an area, scored 1–5 with evidence."""

    class Area(models.TextChoices):
        ICT = "ict", _("ICT infrastructure")
        DATA = "data", _("Data")
        SYSTEMS = "systems", _("Information systems")
        LEGAL = "legal", _("Legal issues with vendors")
        ORGANISATION = "organisation", _("Organisational capacity")
        PEOPLE = "people", _("Human resources")

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="assessment")
    area = models.CharField(_("area"), max_length=20, choices=Area.choices)
    question_vi = models.CharField(_("question (Vietnamese)"), max_length=300)
    question_en = models.CharField(_("question (English)"), max_length=300, blank=True)
    score = models.PositiveSmallIntegerField(_("score (1–5)"), null=True, blank=True, validators=SCORE)
    evidence = models.TextField(_("evidence"), blank=True)
    evidence_file = models.FileField(_("evidence file"), upload_to="programme/evidence/", blank=True)
    assessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    assessed_at = models.DateTimeField(null=True, blank=True)
    order = models.PositiveIntegerField(default=100)

    class Meta:
        verbose_name = _("assessment item")
        verbose_name_plural = _("current-state assessment")
        ordering = ["area", "order", "pk"]


class Goal(CityOwned):
    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="goals")
    code = models.CharField(_("code"), max_length=20)  # "G1"
    title_vi = models.CharField(_("title (Vietnamese)"), max_length=300)
    title_en = models.CharField(_("title (English)"), max_length=300, blank=True)
    description_vi = models.TextField(_("description (Vietnamese)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    order = models.PositiveIntegerField(default=100)
    is_published = models.BooleanField(_("published"), default=True)
    # Maintained by services.recompute_progress: weighted mean of the goal's projects (0–100).
    progress = models.FloatField(_("progress (%)"), default=0.0)

    class Meta:
        verbose_name = _("goal")
        verbose_name_plural = _("goals")
        ordering = ["order", "code"]
        constraints = [models.UniqueConstraint(fields=["programme", "code"], name="programme_goal_code")]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"

    @property
    def title(self) -> str:
        return localised(self.title_vi, self.title_en)


class Target(CityOwned):
    """A target of a goal, measured by an indicator of the KPI catalogue (`kpi_code`, e.g. "EN: EN: AQ: 1C"
    or "reports.resolved_on_time"): from `baseline_value` in `baseline_year` to `target_value` by
    `deadline`. The KPI module computes current values and progress."""

    goal = models.ForeignKey(Goal, on_delete=models.CASCADE, related_name="targets")
    kpi_code = models.CharField(_("indicator code"), max_length=60)
    label_vi = models.CharField(_("target (Vietnamese)"), max_length=300)
    label_en = models.CharField(_("target (English)"), max_length=300, blank=True)
    unit = models.CharField(_("unit"), max_length=40, blank=True)
    baseline_value = models.FloatField(_("baseline"))
    baseline_year = models.PositiveSmallIntegerField(_("baseline year"))
    target_value = models.FloatField(_("target value"))
    deadline = models.DateField(_("deadline"))
    higher_is_better = models.BooleanField(_("higher is better"), default=True)

    class Meta:
        verbose_name = _("target")
        verbose_name_plural = _("targets")
        ordering = ["goal", "deadline", "pk"]


class InvestmentModel(models.TextChoices):
    STATE_BUDGET = "state_budget", _("State budget")
    PPP = "ppp", _("Public-private partnership")
    ODA = "oda", _("ODA")
    ENTERPRISE = "enterprise", _("Enterprise investment")
    OTHER = "other", pgettext_lazy("investment model", "Other")


class Domain(models.TextChoices):
    """Domains of the smart city, for the vendor-concentration measure and the overview."""

    DATA_PLATFORM = "data_platform", _("Data platform and IOC")
    DISASTER = "disaster", _("Disaster and flood warning")
    LIGHTING = "lighting", _("Smart lighting")
    TRANSPORT = "transport", _("Transport")
    ENVIRONMENT = "environment", _("Environment")
    PUBLIC_SERVICES = "public_services", _("Public services and citizen reports")
    SECURITY = "security", _("Security and cameras")
    HEALTH = "health", _("Health")
    EDUCATION = "education", _("Education")
    TOURISM = "tourism", _("Tourism")
    OTHER = "other", pgettext_lazy("domain", "Other")


class Project(CityOwned):
    class Kind(models.TextChoices):
        PILOT = "pilot", _("Pilot")
        FULL = "full", _("Full deployment")

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        APPROVED = "approved", pgettext_lazy("project status", "Approved")
        IN_PROGRESS = "in_progress", pgettext_lazy("project status", "In progress")
        PAUSED = "paused", _("Paused")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", pgettext_lazy("project status", "Cancelled")

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="projects")
    code = models.SlugField(_("code"), max_length=60)
    title_vi = models.CharField(_("title (Vietnamese)"), max_length=300)
    title_en = models.CharField(_("title (English)"), max_length=300, blank=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.PILOT)
    domain = models.CharField(_("domain"), max_length=30, choices=Domain.choices, default=Domain.OTHER)
    solution_vi = models.TextField(_("solution (Vietnamese)"), blank=True)
    solution_en = models.TextField(_("solution (English)"), blank=True)
    # [{"option": "...", "pros": "...", "cons": "...", "chosen": bool}]
    alternatives = models.JSONField(_("technology alternatives"), default=list, blank=True)
    agency = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="programme_projects",
        verbose_name=_("responsible agency"),
    )
    investment_model = models.CharField(
        _("investment model"),
        max_length=20,
        choices=InvestmentModel.choices,
        default=InvestmentModel.STATE_BUDGET,
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PROPOSED)
    starts_on = models.DateField(_("starts on"), null=True, blank=True)
    ends_on = models.DateField(_("ends on"), null=True, blank=True)
    scaled_from = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="scale_ups",
        verbose_name=_("scales up the pilot"),
    )
    # Maintained by services.recompute_progress: weighted mean of the milestones (0–100).
    progress = models.FloatField(_("progress (%)"), default=0.0)
    is_published = models.BooleanField(_("published"), default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("project")
        verbose_name_plural = _("projects")
        ordering = ["starts_on", "code"]
        constraints = [models.UniqueConstraint(fields=["programme", "code"], name="programme_project_code")]

    def __str__(self) -> str:
        return self.title

    @property
    def title(self) -> str:
        return localised(self.title_vi, self.title_en)


class GoalProject(models.Model):
    """A project's contribution to a goal, with its weight in the goal's progress (Decidim-style)."""

    goal = models.ForeignKey(Goal, on_delete=models.CASCADE, related_name="contributions")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="contributions")
    weight = models.FloatField(_("weight"), default=1.0, validators=[MinValueValidator(0)])

    class Meta:
        verbose_name = _("goal contribution")
        constraints = [models.UniqueConstraint(fields=["goal", "project"], name="programme_goal_project")]

    def __str__(self) -> str:
        return f"{self.goal_id} ← {self.project_id} ({self.weight})"


class BudgetLine(CityOwned):
    """Planned and disbursed money of a project for one year, funding source and kind."""

    class Source(models.TextChoices):
        CENTRAL = "central_budget", _("Central state budget")
        LOCAL = "local_budget", _("Local state budget")
        PPP = "ppp", _("Public-private partnership")
        ODA = "oda", _("ODA")
        ENTERPRISE = "enterprise", _("Enterprise")
        OTHER = "other", pgettext_lazy("funding source", "Other")

    class Kind(models.TextChoices):
        CAPEX = "capex", _("Investment (capex)")
        OPEX = "opex", _("Operating cost (opex)")

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="budget")
    year = models.PositiveSmallIntegerField(_("year"))
    source = models.CharField(_("funding source"), max_length=20, choices=Source.choices)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.CAPEX)
    planned_vnd = models.BigIntegerField(_("planned (VND)"), validators=[MinValueValidator(0)])
    disbursed_vnd = models.BigIntegerField(_("disbursed (VND)"), default=0, validators=[MinValueValidator(0)])

    class Meta:
        verbose_name = _("budget line")
        verbose_name_plural = _("budget")
        ordering = ["project", "year", "source", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "year", "source", "kind"], name="programme_budget_unique"
            ),
        ]


class Phase(CityOwned):
    class Kind(models.TextChoices):
        POLICY = "policy", _("Policy-incentive period")
        AGREEMENT = "agreement", _("Agreements to sign")
        FUNDING = "funding", _("Funding cycle")
        PILOT = "pilot", _("Pilot")
        SCALE_UP = "scale_up", _("Scale-up")
        OTHER = "other", pgettext_lazy("phase", "Other")

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="phases")
    name_vi = models.CharField(_("name (Vietnamese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.OTHER)
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    order = models.PositiveIntegerField(default=100)

    class Meta:
        verbose_name = _("phase")
        verbose_name_plural = _("phases")
        ordering = ["starts_on", "order", "pk"]

    @property
    def name(self) -> str:
        return localised(self.name_vi, self.name_en)


class Milestone(CityOwned):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="milestones")
    phase = models.ForeignKey(
        Phase, null=True, blank=True, on_delete=models.SET_NULL, related_name="milestones"
    )
    title_vi = models.CharField(_("title (Vietnamese)"), max_length=300)
    title_en = models.CharField(_("title (English)"), max_length=300, blank=True)
    due_on = models.DateField(_("due on"))
    done_on = models.DateField(_("done on"), null=True, blank=True)
    weight = models.FloatField(_("weight"), default=1.0, validators=[MinValueValidator(0)])
    progress = models.PositiveSmallIntegerField(
        _("progress (%)"), default=0, validators=[MaxValueValidator(100)]
    )

    class Meta:
        verbose_name = _("milestone")
        verbose_name_plural = _("milestones")
        ordering = ["due_on", "pk"]

    @property
    def title(self) -> str:
        return localised(self.title_vi, self.title_en)


class ProjectPartner(CityOwned):
    """An organisation's part in a project (vendor, operator, funder…), its agreement and the value it
    holds; the vendor-concentration measure sums `value_vnd` of vendors per domain."""

    class Role(models.TextChoices):
        VENDOR = "vendor", _("Technology vendor")
        OPERATOR = "operator", _("Operator")
        FUNDER = "funder", _("Funder")
        RESEARCH = "research", _("Research partner")
        COMMUNITY = "community", _("Community partner")
        GOVERNMENT = "government", _("Other level of government")

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="partners")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="programme_roles")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    agreement = models.ForeignKey(
        Agreement, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    value_vnd = models.BigIntegerField(_("value (VND)"), default=0, validators=[MinValueValidator(0)])
    services = models.TextField(_("services provided"), blank=True)

    class Meta:
        verbose_name = _("project partner")
        verbose_name_plural = _("project partners")
        constraints = [
            models.UniqueConstraint(
                fields=["project", "organisation", "role"], name="programme_partner_unique"
            ),
        ]


class Risk(CityOwned):
    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("risk status", "Open")
        MITIGATING = "mitigating", _("Being mitigated")
        CLOSED = "closed", pgettext_lazy("risk status", "Closed")

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="risks")
    project = models.ForeignKey(
        Project, null=True, blank=True, on_delete=models.CASCADE, related_name="risks"
    )
    title_vi = models.CharField(_("risk (Vietnamese)"), max_length=300)
    title_en = models.CharField(_("risk (English)"), max_length=300, blank=True)
    likelihood = models.PositiveSmallIntegerField(_("likelihood (1–5)"), validators=SCORE)
    impact = models.PositiveSmallIntegerField(_("impact (1–5)"), validators=SCORE)
    owner = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("owner"),
    )
    mitigation = models.TextField(_("mitigation"), blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.OPEN)

    class Meta:
        verbose_name = _("risk")
        verbose_name_plural = _("risk register")
        ordering = ["status", "-likelihood", "-impact", "pk"]

    @property
    def score(self) -> int:
        return self.likelihood * self.impact


class Stakeholder(CityOwned):
    class Kind(models.TextChoices):
        GOVERNMENT = "government", _("Government body")
        ENTERPRISE = "enterprise", _("Enterprise")
        UNIVERSITY = "university", _("University or research institute")
        EXPERT = "expert", _("Expert")
        CITIZEN_GROUP = "citizen_group", _("Citizen group")
        NGO = "ngo", _("Non-governmental organisation")
        OTHER = "other", pgettext_lazy("stakeholder", "Other")

    class Mechanism(models.TextChoices):
        FORUM = "forum", _("Forum")
        ASSOCIATION = "association", _("Association")
        CONSULTATION = "consultation", _("Public consultation")
        WORKSHOP = "workshop", _("Workshop")
        ADVISORY = "advisory", _("Advisory board")
        SURVEY = "survey", _("Survey")

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="stakeholders")
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    influence = models.PositiveSmallIntegerField(_("influence (1–5)"), validators=SCORE)
    interest = models.PositiveSmallIntegerField(_("interest (1–5)"), validators=SCORE)
    mechanisms = models.JSONField(_("participation mechanisms"), default=list, blank=True)  # Mechanism values
    note = models.TextField(_("note"), blank=True)
    is_published = models.BooleanField(_("published"), default=False)

    class Meta:
        verbose_name = _("stakeholder")
        verbose_name_plural = _("stakeholders")
        ordering = ["-influence", "-interest", "name"]


class Commitment(CityOwned):
    class Status(models.TextChoices):
        PLEDGED = "pledged", _("Pledged")
        IN_PROGRESS = "in_progress", pgettext_lazy("commitment status", "In progress")
        FULFILLED = "fulfilled", _("Fulfilled")
        LAPSED = "lapsed", _("Lapsed")

    stakeholder = models.ForeignKey(Stakeholder, on_delete=models.CASCADE, related_name="commitments")
    project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    text_vi = models.TextField(_("commitment (Vietnamese)"))
    text_en = models.TextField(_("commitment (English)"), blank=True)
    made_on = models.DateField(_("made on"), null=True, blank=True)
    due_on = models.DateField(_("due on"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PLEDGED)

    class Meta:
        verbose_name = _("commitment")
        verbose_name_plural = _("commitments")
        ordering = ["due_on", "pk"]


class Challenge(CityOwned):
    """An innovation-lab challenge the city opens to the public and partners (ideas answer it through
    the participation module)."""

    class Status(models.TextChoices):
        DRAFT = "draft", pgettext_lazy("challenge status", "Draft")
        OPEN = "open", pgettext_lazy("challenge status", "Open")
        CLOSED = "closed", pgettext_lazy("challenge status", "Closed")
        AWARDED = "awarded", _("Awarded")

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="challenges")
    code = models.SlugField(_("code"), max_length=60)
    title_vi = models.CharField(_("title (Vietnamese)"), max_length=300)
    title_en = models.CharField(_("title (English)"), max_length=300, blank=True)
    description_vi = models.TextField(_("description (Vietnamese)"))
    description_en = models.TextField(_("description (English)"), blank=True)
    opens_on = models.DateField(_("opens on"), null=True, blank=True)
    closes_on = models.DateField(_("closes on"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.DRAFT)
    projects = models.ManyToManyField(Project, blank=True, related_name="challenges")

    class Meta:
        verbose_name = _("innovation challenge")
        verbose_name_plural = _("innovation challenges")
        ordering = ["-opens_on", "code"]
        constraints = [models.UniqueConstraint(fields=["programme", "code"], name="programme_challenge_code")]

    @property
    def title(self) -> str:
        return localised(self.title_vi, self.title_en)


class TrainingCourse(CityOwned):
    """Capacity building for the agencies' focal officers (cán bộ đầu mối)."""

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="courses")
    title_vi = models.CharField(_("course (Vietnamese)"), max_length=300)
    title_en = models.CharField(_("course (English)"), max_length=300, blank=True)
    provider = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    topic = models.CharField(_("topic"), max_length=200, blank=True)
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    hours = models.PositiveSmallIntegerField(_("hours"), default=0)

    class Meta:
        verbose_name = _("training course")
        verbose_name_plural = _("training courses")
        ordering = ["-starts_on", "pk"]


class TrainingCompletion(CityOwned):
    """A staff member (a focal officer of an agency) who completed a course."""

    course = models.ForeignKey(TrainingCourse, on_delete=models.CASCADE, related_name="completions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    completed_on = models.DateField(_("completed on"))

    class Meta:
        verbose_name = _("course completion")
        verbose_name_plural = _("course completions")
        constraints = [models.UniqueConstraint(fields=["course", "user"], name="programme_completion_once")]


class Cooperation(CityOwned):
    """ASEAN and international cooperation the city takes part in (ASEAN Smart Cities Network, sister
    cities, programmes of development partners)."""

    class Kind(models.TextChoices):
        ASEAN = "asean", _("ASEAN Smart Cities Network")
        BILATERAL = "bilateral", _("Bilateral (sister city)")
        MULTILATERAL = "multilateral", _("Multilateral programme")
        NETWORK = "network", _("City network")

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="cooperation")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    partner = models.CharField(_("partner"), max_length=200)
    title_vi = models.CharField(_("title (Vietnamese)"), max_length=300)
    title_en = models.CharField(_("title (English)"), max_length=300, blank=True)
    since = models.DateField(_("since"), null=True, blank=True)
    until = models.DateField(_("until"), null=True, blank=True)
    description = models.TextField(_("description"), blank=True)
    is_published = models.BooleanField(_("published"), default=True)

    class Meta:
        verbose_name = _("cooperation")
        verbose_name_plural = _("international cooperation")
        ordering = ["-since", "pk"]


class Lesson(CityOwned):
    """A lesson learned from a project (step e); `is_shared` lessons are readable by every city on the
    platform (the library of good practice)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="lessons")
    title = models.CharField(_("title"), max_length=300)
    worked = models.TextField(_("what worked"), blank=True)
    did_not_work = models.TextField(_("what did not work"), blank=True)
    good_practice = models.TextField(_("good practice to replicate"), blank=True)
    tags = models.JSONField(_("tags"), default=list, blank=True)
    search_key = models.TextField(
        blank=True
    )  # accent-free text of title, texts and tags (core.text.fold_key)
    is_shared = models.BooleanField(_("shared with other cities"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("lesson learned")
        verbose_name_plural = _("lessons learned")
        ordering = ["-created_at"]
