"""Forms of the catalogue and manual-value pages. They only shape input; the services validate (the
value's Vietnamese decimal comma, the period, the commune, the evidence) and what they refuse is shown
next to the field it names."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from dothi.core.forms import StyledForm
from dothi.core.forms import apply_error as core_apply_error
from dothi.core.models import City, Commune
from dothi.kpis import catalogue, selectors
from dothi.kpis.models import Indicator

SOURCE_CHOICES = [("", _("All sources")), *Indicator.Source.choices]
AUTOMATIC_CHOICES = [("", _("Automatic and manual")), ("1", _("Automatic")), ("0", _("Manual"))]


def apply_error(form, exc, field=None) -> None:
    core_apply_error(form, exc, field, aliases={"grain": "period", "start": "period"})


class CatalogueFilter(StyledForm):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    dimension = forms.ChoiceField(label=_("dimension"), required=False)
    source = forms.ChoiceField(label=_("source"), required=False, choices=SOURCE_CHOICES)
    automatic = forms.ChoiceField(label=_("Measured"), required=False, choices=AUTOMATIC_CHOICES)

    def __init__(self, *args, city: City, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["dimension"].choices = [("", _("All dimensions"))] + [
            (d, catalogue.label(d)) for d in selectors.dimensions(city)
        ]

    def filters(self) -> dict:
        if not self.is_valid():
            return {}
        d = self.cleaned_data
        automatic = {"1": True, "0": False}.get(d.get("automatic") or "")
        return {"q": d.get("q") or None, "dimension": d.get("dimension") or None,
                "source": d.get("source") or None, "automatic": automatic}


class ManualValueForm(StyledForm):
    indicator = forms.ChoiceField(label=pgettext_lazy("kpis", "Indicator"))
    period = forms.CharField(label=pgettext_lazy("kpis", "Period"), max_length=10,
                             help_text=_("A year (2026), a quarter (2026-Q3) or a month (2026-07)."))
    commune = forms.ChoiceField(label=_("commune"), required=False,
                                help_text=_("Leave empty for the whole city."))
    value = forms.CharField(label=pgettext_lazy("kpis", "Value"), max_length=40,
                            help_text=_("A number; a decimal comma is fine (12,5)."))
    source = forms.CharField(label=_("source"), max_length=300,
                             help_text=_("Where the figure comes from (statistics office, survey, report…)."))
    evidence = forms.FileField(label=_("evidence file"), required=False,
                               help_text=_("PDF, image or spreadsheet, at most 10 MB."))
    note = forms.CharField(label=_("note"), required=False, max_length=300)

    def __init__(self, *args, city: City, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["indicator"].choices = [("", "—")] + [
            (i.code, f"{i.code} · {i.name}") for i in selectors.indicators(city)
        ]
        self.fields["commune"].choices = [("", _("Whole city"))] + [
            (c.pk, c.name) for c in Commune.objects.filter(province_id=city.province_code).order_by("name")
        ]


class DecisionForm(StyledForm):
    note = forms.CharField(label=_("decision note"), required=False, max_length=500,
                           widget=forms.TextInput(attrs={"placeholder": _("Required to reject")}))
