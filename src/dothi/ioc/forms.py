"""Forms of the control centre's pages. They only parse: the services validate and decide."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from dothi.core.forms import StyledForm
from dothi.ioc.models import AlarmLevel, IncidentEntry
from dothi.ioc.services import HAND_KINDS, NOTE_MAX, TEXT_MAX


def _person(user) -> str:
    return user.display_name or user.get_username()


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return _person(obj)


class AlarmFilterForm(StyledForm):
    status = forms.ChoiceField(
        label=pgettext_lazy("alarms filter", "Show"),
        required=False,
        choices=[("active", _("Not closed")), ("closed", _("Closed")), ("all", _("All"))],
    )
    level = forms.ChoiceField(
        label=_("Level"), required=False, choices=[("", _("Any level")), *AlarmLevel.choices]
    )


class AssignForm(StyledForm):
    def __init__(self, *args, staff=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"] = PersonChoiceField(label=_("Assign to"), queryset=staff)
        self.fields["assignee"].widget.attrs.setdefault("class", "form-select")


class CloseForm(StyledForm):
    note = forms.CharField(
        label=_("What was done"),
        max_length=NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class LogForm(StyledForm):
    kind = forms.ChoiceField(
        label=_("Kind"), choices=[(k.value, k.label) for k in HAND_KINDS], initial=IncidentEntry.Kind.NOTE
    )
    text = forms.CharField(
        label=_("What happened"), max_length=TEXT_MAX, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, communes=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["commune"] = forms.ChoiceField(
            label=_("Commune (optional)"),
            required=False,
            choices=[("", "—"), *((c.code, c.name) for c in communes or [])],
        )
        self.fields["commune"].widget.attrs.setdefault("class", "form-select")


class HandoverForm(StyledForm):
    notes = forms.CharField(
        label=_("Notes for the next shift"),
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(self, *args, operators=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["handed_to"] = PersonChoiceField(
            label=_("Hand over to (optional)"),
            queryset=operators,
            required=False,
            empty_label=_("Whoever takes the next shift"),
        )
        self.fields["handed_to"].widget.attrs.setdefault("class", "form-select")
