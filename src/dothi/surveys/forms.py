"""Forms of the staff builder: they parse and label; the services validate (their errors are shown on
the fields, `apply_error`). The citizen's survey form is drawn from the questions (views.py)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from dothi.core.errors import DomainError
from dothi.surveys.models import Question, Survey


def apply_error(form: forms.Form, exc: DomainError) -> None:
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, exc.message)


class Styled(forms.Form):
    """Bootstrap classes on every widget."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = css


class SurveyForm(Styled):
    code = forms.SlugField(
        label=_("Code (in the address)"),
        max_length=60,
        help_text=_("Lower-case letters without accents, digits and hyphens."),
    )
    kind = forms.ChoiceField(
        label=pgettext_lazy("surveys", "Kind"), choices=Survey.Kind.choices, initial=Survey.Kind.CUSTOM
    )
    title_vi = forms.CharField(label=_("Title (Vietnamese)"), max_length=200)
    title_en = forms.CharField(label=_("Title (English)"), max_length=200, required=False)
    intro_vi = forms.CharField(
        label=_("Introduction (Vietnamese)"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    intro_en = forms.CharField(
        label=_("Introduction (English)"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    audience = forms.ChoiceField(
        label=_("Who may answer"), choices=Survey.Audience.choices, initial=Survey.Audience.CITIZENS
    )
    anonymous_results = forms.BooleanField(
        label=_("Anonymous results (answers never linked to accounts)"), required=False, initial=True
    )
    opens_at = forms.DateTimeField(
        label=_("Opens at"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    closes_at = forms.DateTimeField(
        label=_("Closes at"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )


class SurveyEditForm(SurveyForm):
    """The same without the code and kind, which never change."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["code"]
        del self.fields["kind"]


class QuestionForm(Styled):
    kind = forms.ChoiceField(label=_("Type of question"), choices=Question.Kind.choices)
    text_vi = forms.CharField(label=_("Question (Vietnamese)"), max_length=500)
    text_en = forms.CharField(label=_("Question (English)"), max_length=500, required=False)
    choices = forms.CharField(
        label=_("Choices (one a line: code | Vietnamese label | English label)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Only for questions with one or several choices."),
    )
    required = forms.BooleanField(label=pgettext_lazy("surveys", "Required"), required=False, initial=True)
    indicator_code = forms.CharField(
        label=_("Indicator measured (optional)"),
        max_length=80,
        required=False,
        help_text=_("For a 1–5 or 0–10 question: the code of the indicator its mean or NPS feeds."),
    )

    def parsed_choices(self) -> list[dict[str, str]] | None:
        text = self.cleaned_data.get("choices", "")
        lines = [line for line in text.splitlines() if line.strip()]
        if not lines:
            return None
        out = []
        for line in lines:
            parts = [p.strip() for p in line.split("|")]
            while len(parts) < 3:
                parts.append("")
            out.append({"code": parts[0], "label_vi": parts[1] or parts[0], "label_en": parts[2]})
        return out
