"""Forms for the identity pages. They only shape input; the services validate it and their errors
are attached to the field they name (see `apply_error`)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from dothi.core.errors import DomainError


def apply_error(form: forms.Form, exc: DomainError) -> None:
    """Show a service error next to its field, or at the top of the form."""
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, exc.message)


class StyledForm(forms.Form):
    """Adds Bootstrap's classes to the widgets, so templates stay plain."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput | forms.RadioSelect):
                widget.attrs.setdefault("class", "form-check-input")
            else:
                widget.attrs.setdefault("class", "form-control")


class SignupForm(StyledForm):
    id_kind = forms.ChoiceField(
        label=_("Identity document"),
        choices=[("cccd", _("Citizen ID (CCCD)")), ("passport", _("Passport (visitors)"))],
        initial="cccd",
        widget=forms.RadioSelect,
    )
    id_number = forms.CharField(
        label=_("Citizen ID or passport number"),
        max_length=40,
        help_text=_("12 digits on your citizen ID card, or your passport number."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "text"}),
    )
    birth_year = forms.CharField(
        label=_("Birth year"),
        max_length=4,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "bday-year"}),
    )
    phone = forms.CharField(
        label=_("Mobile phone"),
        max_length=20,
        help_text=_("We send a one-time code to this number."),
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )
    display_name = forms.CharField(
        label=_("Your name"), max_length=80, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    consent = forms.BooleanField(
        label=_(
            "I have read the privacy notice and consent to the processing of my personal data for the "
            "purposes it describes."
        ),
        required=True,
        error_messages={"required": _("You must accept the privacy notice to create an account.")},
    )


class CodeForm(StyledForm):
    code = forms.CharField(
        label=_("One-time code"),
        max_length=6,
        min_length=6,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )


class SigninForm(StyledForm):
    # Named id_number (element id "id_id_number") like the sign-up field, though a phone works too.
    id_number = forms.CharField(
        label=_("Citizen ID, passport number or phone"),
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "username"}),
    )


class StaffSigninForm(StyledForm):
    username = forms.CharField(
        label=_("Username"), max_length=150, widget=forms.TextInput(attrs={"autocomplete": "username"})
    )
    password = forms.CharField(
        label=_("Password"),
        max_length=200,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class TotpForm(StyledForm):
    token = forms.CharField(
        label=_("Authenticator code"),
        max_length=8,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )


class DeleteAccountForm(StyledForm):
    confirm = forms.BooleanField(
        label=_("I understand that my personal data will be erased and I cannot undo this."),
        required=True,
        error_messages={"required": _("Tick the box to confirm.")},
    )
