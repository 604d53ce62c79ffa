"""Forms of the staff pages of warnings: the warning form (draft, edit, update), the reason asked when
rejecting or cancelling, and marking an "I need help" reply handled.

The forms only shape input for the services, which do the real validation (category of the city, the
area inside the city, expiry after the effective time, four eyes); what a service refuses is shown next
to the field it names (`apply_error`). Times are typed in the city's time zone: the views activate it
while a form is bound and rendered, so `datetime-local` values mean the city's wall-clock time.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from dothi.alerts.models import Certainty, Severity, Urgency
from dothi.core.errors import DomainError
from dothi.core.forms import StyledForm
from dothi.core.forms import apply_error as core_apply_error

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"
MAX_ATTACHMENTS = 5
MAX_POLYGON_CHARS = 200_000  # a hand-drawn or pasted area; a whole commune boundary fits easily


_ALIASES = {"area": "commune_codes", "communes": "commune_codes"}  # services speak of the area as a whole


def apply_error(form: forms.Form, exc: DomainError | str, field: str | None = None) -> None:
    """Show a service's refusal next to the field it names (or above the form)."""
    core_apply_error(form, exc, field, aliases=_ALIASES)


class _MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files from one <input type="file" multiple>."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", _MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


def _datetime_field(label, *, required: bool = False, help_text: str = "") -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        required=required,
        help_text=help_text,
        input_formats=[DATETIME_LOCAL, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
        error_messages={"invalid": _("Enter a date and time, e.g. 2026-12-04 16:30.")},
    )


def _text(label, max_length: int, *, rows: int = 0, required: bool = False) -> forms.CharField:
    widget = forms.Textarea(attrs={"rows": rows}) if rows else forms.TextInput()
    return forms.CharField(label=label, max_length=max_length, required=required, widget=widget)


ASKS_SAFETY_CHOICES = [
    ("", _("As the category says")),
    ("yes", _("Yes: ask people whether they are safe")),
    ("no", _("No")),
]

# The fields of the form, as the services name them (warning_draft / warning_edit / warning_update).
SERVICE_FIELDS = (
    "category", "urgency", "severity", "certainty",
    "headline_vi", "headline_en", "description_vi", "description_en", "instruction_vi", "instruction_en",
    "commune_codes", "polygon", "area_desc_vi", "area_desc_en",
    "onset_at", "effective_at", "expires_at", "asks_safety",
)


class WarningForm(StyledForm):
    """A manual warning or news item: what, how bad, where, when, in Vietnamese and English."""

    category = forms.ChoiceField(label=_("Category"))
    urgency = forms.ChoiceField(label=_("Urgency"), choices=Urgency.choices, initial=Urgency.EXPECTED)
    severity = forms.ChoiceField(label=_("Severity"), choices=Severity.choices, initial=Severity.MODERATE)
    certainty = forms.ChoiceField(label=_("Certainty"), choices=Certainty.choices, initial=Certainty.LIKELY)
    headline_vi = _text(_("Headline (Vietnamese)"), 160, required=True)
    headline_en = _text(_("Headline (English)"), 160)
    description_vi = _text(_("Description (Vietnamese)"), 5000, rows=4)
    description_en = _text(_("Description (English)"), 5000, rows=4)
    instruction_vi = _text(_("Instructions (Vietnamese)"), 3000, rows=3)
    instruction_en = _text(_("Instructions (English)"), 3000, rows=3)
    commune_codes = forms.MultipleChoiceField(
        label=_("Communes"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text=_("Choose the communes the warning covers, or give a polygon below (or both)."),
    )
    polygon = forms.CharField(
        label=_("Polygon (GeoJSON)"),
        required=False,
        max_length=MAX_POLYGON_CHARS,
        widget=forms.Textarea(
            attrs={"rows": 4, "spellcheck": "false", "class": "form-control font-monospace"}
        ),
        help_text=_(
            "A GeoJSON Polygon or MultiPolygon in WGS84 (longitude, latitude), or draw it on the map. "
            "The communes it touches are added to the area."
        ),
    )
    area_desc_vi = _text(_("Area description (Vietnamese)"), 300)
    area_desc_en = _text(_("Area description (English)"), 300)
    onset_at = _datetime_field(_("Onset (expected start of the event)"))
    effective_at = _datetime_field(_("Effective from"), help_text=_("Empty: as soon as it is approved."))
    expires_at = _datetime_field(_("Expires"))
    asks_safety = forms.ChoiceField(
        label=_("Ask “are you safe?”"), choices=ASKS_SAFETY_CHOICES, required=False
    )
    attachments = MultipleFileField(
        label=_("Attachments"),
        required=False,
    )

    def __init__(self, *args, categories=(), communes=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", _("Choose a category"))] + [
            (c.code, c.name) for c in categories
        ]
        self.fields["commune_codes"].choices = [(c.code, c.name) for c in communes]
        self.fields["attachments"].help_text = _(
            "Maps, storm tracks or bulletins (PDF, PNG or JPEG), at most %(n)d files."
        ) % {"n": MAX_ATTACHMENTS}

    def clean_polygon(self) -> dict | None:
        text = (self.cleaned_data.get("polygon") or "").strip()
        if not text:
            return None
        try:
            data = json.loads(text)
        except ValueError:
            raise forms.ValidationError(_("The polygon is not valid GeoJSON."), code="polygon_json")
        # A drawing tool or a GIS export may wrap the geometry in a Feature (or a one-feature collection).
        if isinstance(data, dict) and data.get("type") == "FeatureCollection":
            features = data.get("features")
            data = features[0] if isinstance(features, list) and len(features) == 1 else None
        if isinstance(data, dict) and data.get("type") == "Feature":
            data = data.get("geometry")
        if not isinstance(data, dict) or data.get("type") not in ("Polygon", "MultiPolygon"):
            raise forms.ValidationError(
                _("Give the area as a GeoJSON Polygon or MultiPolygon."), code="polygon_type"
            )
        return data

    def clean_asks_safety(self) -> bool | None:
        return {"yes": True, "no": False}.get(self.cleaned_data.get("asks_safety") or "")

    def clean_attachments(self) -> list:
        files = self.cleaned_data.get("attachments") or []
        if len(files) > MAX_ATTACHMENTS:
            raise forms.ValidationError(
                _("Attach at most %(n)d files.") % {"n": MAX_ATTACHMENTS}, code="too_many"
            )
        return files

    def service_fields(self) -> dict[str, Any]:
        """The cleaned values, named as the services take them."""
        data = self.cleaned_data
        fields = {name: data.get(name) for name in SERVICE_FIELDS}
        fields["commune_codes"] = list(data.get("commune_codes") or [])
        for name in ("headline_en", "description_vi", "description_en", "instruction_vi", "instruction_en",
                     "area_desc_vi", "area_desc_en"):
            fields[name] = fields[name] or ""
        return fields

    @staticmethod
    def initial_for(warning) -> dict[str, Any]:
        """The form's values for an existing warning (edit a draft, or update a published one)."""
        initial = {name: getattr(warning, name) for name in SERVICE_FIELDS if name != "category"}
        for name in ("onset_at", "effective_at", "expires_at"):
            # To the minute, as the form shows them, so an untouched time counts as unchanged.
            if initial[name] is not None:
                initial[name] = initial[name].replace(second=0, microsecond=0)
        initial["category"] = warning.category.code
        initial["polygon"] = json.dumps(warning.polygon, ensure_ascii=False) if warning.polygon else ""
        # For a polygon the communes are derived from it: sending them back would only repeat them.
        initial["commune_codes"] = [] if warning.polygon else list(warning.commune_codes or [])
        initial["asks_safety"] = "yes" if warning.asks_safety else "no"
        return initial


class ReasonForm(StyledForm):
    """Why a draft is rejected, or a published warning cancelled (kept, and shown to the author)."""

    reason = forms.CharField(
        label=_("Reason"),
        max_length=300,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        error_messages={"required": _("Give a reason.")},
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "reason_%s")
        super().__init__(*args, **kwargs)


class HandleReplyForm(forms.Form):
    """Marking an "I need help" reply as handled (the rescue team has it)."""

    warning = forms.UUIDField(widget=forms.HiddenInput)
    reply = forms.IntegerField(min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput)
