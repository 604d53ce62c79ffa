"""Forms for the report pages. They shape input for the services, which do the real validation;
errors the services raise are attached to the field they name (`apply_error`)."""

from __future__ import annotations

import math
import uuid
from datetime import timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from dothi.core.errors import DomainError
from dothi.reports.models import CategoryAttribute, Channel, Priority, Status

MAX_PHOTOS = 5
ATTR_PREFIX = "attr_"


class StyledForm(forms.Form):
    """Bootstrap classes on every widget (Django's CharField already refuses NUL characters)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput | forms.RadioSelect | forms.CheckboxSelectMultiple):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.Select | forms.SelectMultiple):
                widget.attrs.setdefault("class", "form-select")
            else:
                widget.attrs.setdefault("class", "form-control")


# Service field names that differ from the form's: a point outside the city is shown at the map's
# coordinates, a bad evidence file at the evidence input.
FIELD_ALIASES = {"location": "lat", "category_code": "category", "hide_photo_ids": "hide_photos"}


def apply_error(form: forms.Form, exc: DomainError) -> None:
    """Show a service error next to the field it names (attributes by their code), or on top."""
    field = FIELD_ALIASES.get(exc.field or "", exc.field or "")
    candidates = [field, f"{ATTR_PREFIX}{field}"]
    if field.startswith("attribute[") and field.endswith("]"):
        candidates.append(f"{ATTR_PREFIX}{field[10:-1]}")
    if field.startswith("attributes."):
        candidates.append(f"{ATTR_PREFIX}{field[11:]}")
    for name in candidates:
        if name and name in form.fields:
            form.add_error(name, exc.message)
            return
    form.add_error(None, exc.message)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; the count is checked here, type and size by the services."""

    def __init__(self, *args, max_files: int = MAX_PHOTOS, **kwargs):
        self.max_files = max_files
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}))
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if not data:
            if self.required:
                raise forms.ValidationError(self.error_messages["required"], code="required")
            return []
        files = data if isinstance(data, list | tuple) else [data]
        if len(files) > self.max_files:
            raise forms.ValidationError(
                _("Attach at most %(max)d files.") % {"max": self.max_files}, code="too_many"
            )
        single = super().clean
        return [single(f, initial) for f in files]


def _choice_label(value: dict) -> str:
    english = (get_language() or "vi").startswith("en")
    return str((value.get("name_en") if english else "") or value.get("name_vi") or value.get("key", ""))


def attribute_field(attribute: CategoryAttribute) -> forms.Field:
    """The form field for one of a category's extra questions, by its datatype."""
    common = {"label": attribute.label, "required": attribute.required}
    kind = attribute.datatype
    choices = [
        (str(v.get("key", "")), _choice_label(v)) for v in attribute.values or [] if isinstance(v, dict)
    ]
    if kind == CategoryAttribute.Datatype.NUMBER:
        return forms.DecimalField(
            max_digits=18, decimal_places=6, **common, widget=forms.NumberInput(attrs={"step": "any"})
        )
    if kind == CategoryAttribute.Datatype.DATETIME:
        return forms.DateTimeField(**common, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    if kind == CategoryAttribute.Datatype.TEXT:
        return forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 3}), **common)
    if kind == CategoryAttribute.Datatype.SINGLE:
        return forms.ChoiceField(choices=[("", "—"), *choices], **common)
    if kind == CategoryAttribute.Datatype.MULTI:
        return forms.MultipleChoiceField(choices=choices, widget=forms.CheckboxSelectMultiple, **common)
    return forms.CharField(max_length=300, **common)


def attribute_value(attribute: CategoryAttribute, value):
    """A cleaned form value in the shape the services (and Open311) use: strings and lists of strings."""
    if value in (None, "", []):
        return None
    if attribute.datatype == CategoryAttribute.Datatype.DATETIME:
        return value.isoformat()
    if attribute.datatype == CategoryAttribute.Datatype.NUMBER:
        return format(value.normalize(), "f")
    if isinstance(value, list):
        return [str(v) for v in value]
    return str(value)


class ReportForm(StyledForm):
    """The citizen's report: category, description, a point on the map, answers and photos."""

    category = forms.ChoiceField(label=_("What is the problem?"))
    description = forms.CharField(
        label=_("Describe the problem"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("What, and where exactly? Do not write personal data about other people."),
    )
    lat = forms.FloatField(
        label=_("Latitude"),
        min_value=-90,
        max_value=90,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    lon = forms.FloatField(
        label=_("Longitude"),
        min_value=-180,
        max_value=180,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    address = forms.CharField(label=_("Address or landmark (optional)"), max_length=300, required=False)
    photos = MultipleFileField(
        label=_("Photos (up to 5)"), help_text=_("JPEG, PNG or WebP. Location data in the files is removed.")
    )
    idempotency_key = forms.CharField(max_length=100, required=False, widget=forms.HiddenInput)

    def __init__(self, *args, categories=(), category=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.categories = list(categories)
        self.fields["category"].choices = [("", _("Choose a category"))] + [
            (c.code, c.name) for c in self.categories
        ]
        self.fields["lat"].error_messages["required"] = _("Put a pin on the map, or type the coordinates.")
        self.fields["lon"].error_messages["required"] = _("Put a pin on the map, or type the coordinates.")
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", uuid.uuid4().hex)
        self.category_obj = category
        self.attributes = list(category.attributes.all()) if category is not None else []
        for attribute in self.attributes:
            field = attribute_field(attribute)
            field.widget.attrs.setdefault(
                "class",
                "form-check-input"
                if attribute.datatype == "multivaluelist"
                else ("form-select" if attribute.datatype == "singlevaluelist" else "form-control"),
            )
            self.fields[f"{ATTR_PREFIX}{attribute.code}"] = field

    def attribute_fields(self):
        return [self[f"{ATTR_PREFIX}{a.code}"] for a in self.attributes]

    def main_fields(self):
        return [f for f in self if not f.name.startswith(ATTR_PREFIX)]

    def answers(self) -> dict:
        out = {}
        for attribute in self.attributes:
            value = attribute_value(attribute, self.cleaned_data.get(f"{ATTR_PREFIX}{attribute.code}"))
            if value is not None:
                out[attribute.code] = value
        return out


class OnBehalfForm(ReportForm):
    """Hotline and counter staff file a report for a caller or a walk-in."""

    channel = forms.ChoiceField(
        label=_("How did the report arrive?"),
        choices=[
            (Channel.HOTLINE.value, Channel.HOTLINE.label),
            (Channel.WALK_IN.value, Channel.WALK_IN.label),
        ],
    )
    contact_name = forms.CharField(label=_("Name of the person reporting"), max_length=150, required=False)
    contact_phone = forms.CharField(
        label=_("Their phone"),
        max_length=30,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel"}),
    )
    contact_email = forms.EmailField(label=_("Their e-mail"), required=False)

    def contact(self) -> dict | None:
        data = {k: self.cleaned_data.get(f"contact_{k}", "").strip() for k in ("name", "phone", "email")}
        return {k: v for k, v in data.items() if v} or None


# --- The reporter's actions ---------------------------------------------------------------------


class ProvideInfoForm(StyledForm):
    text = forms.CharField(
        label=_("The information asked for"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )
    photos = MultipleFileField(label=_("Photos (optional)"))


class ReopenForm(StyledForm):
    text = forms.CharField(
        label=_("What is still wrong?"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )


class RatingForm(StyledForm):
    rating = forms.TypedChoiceField(
        label=_("How well was your report handled?"),
        coerce=int,
        widget=forms.RadioSelect,
        choices=[(i, str(i)) for i in range(1, 6)],
    )
    comment = forms.CharField(
        label=_("Comment (optional)"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


# --- Public list and map filters ----------------------------------------------------------------

PERIODS = {"7d": 7, "30d": 30, "90d": 90, "365d": 365}


class PublicFilterForm(StyledForm):
    category = forms.ChoiceField(label=_("Category"), required=False)
    commune = forms.ChoiceField(label=_("Commune"), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False)
    period = forms.ChoiceField(
        label=_("Period"),
        required=False,
        choices=[
            ("", _("Any time")),
            ("7d", _("Last 7 days")),
            ("30d", _("Last 30 days")),
            ("90d", _("Last 90 days")),
            ("365d", _("Last 12 months")),
        ],
    )

    # The map's viewport, "min_lon,min_lat,max_lon,max_lat" (set by the map's script, not shown).
    bbox = forms.CharField(required=False, widget=forms.HiddenInput, max_length=100)

    def __init__(self, *args, categories=(), communes=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", _("All categories"))] + [(c.code, c.name) for c in categories]
        self.fields["commune"].choices = [("", _("All communes"))] + [(c.code, c.name) for c in communes]
        self.fields["status"].choices = [("", _("Any status"))] + list(Status.choices)

    def clean_bbox(self):
        text = self.cleaned_data.get("bbox") or ""
        if not text:
            return None
        try:
            box = [float(v) for v in text.split(",")]
        except ValueError:
            box = []
        if (
            len(box) != 4
            or not all(math.isfinite(v) for v in box)
            or not (-180 <= box[0] <= box[2] <= 180 and -90 <= box[1] <= box[3] <= 90)
        ):
            raise forms.ValidationError(_("The map area must be four numbers: west, south, east, north."))
        return tuple(box)

    def criteria(self) -> dict:
        """Filter values for the selectors; invalid input filters nothing (a public page never fails)."""
        data = self.cleaned_data if self.is_valid() else {}
        since = None
        if data.get("period") in PERIODS:
            since = timezone.now() - timedelta(days=PERIODS[data["period"]])
        return {
            "category": data.get("category") or None,
            "commune": data.get("commune") or None,
            "status": data.get("status") or None,
            "since": since,
            "bbox": data.get("bbox") or None,
        }


class QueueFilterForm(StyledForm):
    status = forms.ChoiceField(label=_("Status"), required=False)
    overdue = forms.ChoiceField(
        label=_("Deadline"),
        required=False,
        choices=[("", _("All")), ("1", _("Overdue only")), ("0", _("Not overdue"))],
    )
    assignee = forms.ChoiceField(label=_("Assigned to"), required=False)
    category = forms.ChoiceField(label=_("Category"), required=False)
    commune = forms.ChoiceField(label=_("Commune"), required=False)

    def __init__(self, *args, categories=(), communes=(), staff=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", _("Open")), ("all", _("Any status"))] + list(Status.choices)
        self.fields["category"].choices = [("", _("All categories"))] + [(c.code, c.name) for c in categories]
        self.fields["commune"].choices = [("", _("All communes"))] + [(c.code, c.name) for c in communes]
        self.fields["assignee"].choices = [("", _("Anyone")), ("me", _("Me")), ("none", _("Nobody yet"))] + [
            (str(u.pk), str(u)) for u in staff
        ]

    def criteria(self) -> dict:
        data = self.cleaned_data if self.is_valid() else {}
        overdue = {"1": True, "0": False}.get(data.get("overdue") or "")
        return {
            "status": data.get("status") or None,
            "overdue": overdue,
            "assignee": data.get("assignee") or None,
            "category": data.get("category") or None,
            "commune": data.get("commune") or None,
        }


# --- Agency handling ------------------------------------------------------------------------------


class AssignForm(StyledForm):
    assignee = forms.ChoiceField(label=_("Assign to"))

    def __init__(self, *args, staff=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.staff = {str(u.pk): u for u in staff}
        self.fields["assignee"].choices = [("", _("Choose a person"))] + [
            (k, str(u)) for k, u in self.staff.items()
        ]


class PriorityForm(StyledForm):
    priority = forms.TypedChoiceField(label=_("Priority"), coerce=int, choices=Priority.choices)


class NoteForm(StyledForm):
    text = forms.CharField(
        label=_("Internal note"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Only staff see internal notes."),
    )


class TransitionForm(StyledForm):
    to_status = forms.ChoiceField(label=_("New status"), choices=Status.choices)
    template = forms.ChoiceField(label=_("Response template"), required=False)
    text = forms.CharField(
        label=_("Public response"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Shown on the public page and sent to the reporter. Required to resolve."),
    )
    evidence = MultipleFileField(
        label=_("Evidence (photo or document)"),
        widget=MultipleFileInput(attrs={"accept": "image/jpeg,image/png,image/webp,application/pdf"}),
        help_text=_("Required to resolve: a photo of the fix or a document."),
    )
    reason = forms.CharField(label=_("Reason (to reject)"), max_length=1000, required=False)
    duplicate_of = forms.CharField(label=_("Duplicate of (reference)"), max_length=24, required=False)

    def __init__(self, *args, templates=(), **kwargs):
        super().__init__(*args, **kwargs)
        english = (get_language() or "vi").startswith("en")
        self.fields["template"].choices = [("", _("No template"))] + [(str(t.pk), t.title) for t in templates]
        # The static JS fills the textarea from the chosen option's data-text.
        self.template_texts = {
            str(t.pk): (t.text_en if english and t.text_en else t.text_vi) for t in templates
        }
        self.fields["template"].widget.attrs["data-fills"] = (self.auto_id or "id_%s") % "text"


class RerouteForm(StyledForm):
    agency = forms.ChoiceField(label=_("Send to agency"))
    reason = forms.CharField(label=_("Reason"), max_length=1000)

    def __init__(self, *args, agencies=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.agencies = {str(a.pk): a for a in agencies}
        self.fields["agency"].choices = [("", _("Choose an agency"))] + [
            (k, a.name) for k, a in self.agencies.items()
        ]


class RecategoriseForm(StyledForm):
    category = forms.ChoiceField(label=_("New category"))
    reason = forms.CharField(label=_("Reason"), max_length=1000)

    def __init__(self, *args, categories=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", _("Choose a category"))] + [
            (c.code, c.name) for c in categories
        ]


class MergeForm(StyledForm):
    into = forms.CharField(label=_("Merge into (reference)"), max_length=24)
    reason = forms.CharField(label=_("Reason (optional)"), max_length=1000, required=False)


class ModerateForm(StyledForm):
    hide = forms.ChoiceField(
        label=_("Public visibility"),
        required=False,
        choices=[("", _("Leave as it is")), ("1", _("Hide from the public")), ("0", _("Show publicly"))],
    )
    public_description = forms.CharField(
        label=_("Redacted public description"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Replaces the description on public pages. Leave empty to keep it."),
    )
    hide_photos = forms.MultipleChoiceField(
        label=_("Hide these photos"), required=False, widget=forms.CheckboxSelectMultiple
    )
    reason = forms.CharField(label=_("Reason"), max_length=1000)

    def __init__(self, *args, photos=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["hide_photos"].choices = [(str(p.pk), f"#{p.pk}") for p in photos]
