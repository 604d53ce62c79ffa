"""Forms of the appointment pages. They shape input for the services, which do the real validation
(slot open, capacity, cut-off, queue rules); errors the services raise are shown next to the field
they name (`apply_error`), or above the form."""

from __future__ import annotations

import uuid

from django import forms
from django.utils.translation import gettext_lazy as _

from dothi.core.forms import StyledForm


class LocationForm(forms.Form):
    """The person's point (from the browser), to list the nearest offices first. Optional."""

    lat = forms.FloatField(min_value=-90, max_value=90, required=False)
    lon = forms.FloatField(min_value=-180, max_value=180, required=False)

    def point(self) -> tuple[float, float] | None:
        if not self.is_valid():
            return None
        lat, lon = self.cleaned_data.get("lat"), self.cleaned_data.get("lon")
        if lat is None or lon is None:
            return None
        return lat, lon


class DayForm(StyledForm):
    day = forms.DateField(
        label=_("Day"),
        required=False,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": _("Enter a date as YYYY-MM-DD.")},
    )


class BookForm(StyledForm):
    """Confirming a booking: the slot is in the URL; the key makes a double submission one booking."""

    idempotency_key = forms.CharField(max_length=100, required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", uuid.uuid4().hex)


class RescheduleForm(StyledForm):
    slot = forms.IntegerField(
        label=_("New time"),
        min_value=1,
        widget=forms.HiddenInput,
        error_messages={
            "required": _("Choose a new time."),
            "invalid": _("Choose a new time."),
            "min_value": _("Choose a new time."),
        },
    )


class RatingForm(StyledForm):
    rating = forms.TypedChoiceField(
        label=_("How was your visit?"),
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


# --- The counter (staff) ------------------------------------------------------------------------


class CheckInForm(StyledForm):
    """A booking code typed by staff, or what a QR scanner types (the code, or a link carrying it)."""

    code = forms.CharField(
        label=_("Booking code or QR code"),
        max_length=500,
        help_text=_("Type the code (e.g. 7KX4-M2QD) or scan the QR code on the person's phone."),
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "autocapitalize": "characters",
                "spellcheck": "false",
                "autofocus": True,
            }
        ),
    )


class WalkInForm(StyledForm):
    """A person without a booking joins the office's queue; no account, name and phone optional."""

    service = forms.ChoiceField(label=_("Service"))
    name = forms.CharField(label=_("Name (optional)"), max_length=120, required=False)
    phone = forms.CharField(
        label=_("Phone (optional)"),
        max_length=30,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
        help_text=_("Kept encrypted; used only to reach the person about this visit."),
    )

    def __init__(self, *args, services=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.services = {s.code: s for s in services}
        self.fields["service"].choices = [("", _("Choose a service"))] + [
            (s.code, s.name) for s in self.services.values()
        ]
