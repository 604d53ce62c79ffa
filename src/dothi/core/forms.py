"""Form building blocks every module's pages share: Bootstrap classes on widgets, and a service's
refusal shown next to the field it names."""

from __future__ import annotations

from collections.abc import Mapping

from django import forms

from dothi.core.errors import DomainError


class StyledForm(forms.Form):
    """Bootstrap classes on every widget."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput | forms.RadioSelect | forms.CheckboxSelectMultiple):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.Select | forms.SelectMultiple):
                widget.attrs.setdefault("class", "form-select")
            elif not isinstance(widget, forms.HiddenInput):
                widget.attrs.setdefault("class", "form-control")


def apply_error(
    form: forms.Form,
    exc: DomainError | str,
    field: str | None = None,
    aliases: Mapping[str, str] | None = None,
) -> None:
    """Show a service error next to the field it names (`aliases` maps a service's field names to the
    form's), or above the form."""
    message = exc.message if isinstance(exc, DomainError) else str(exc)
    name = field or (exc.field if isinstance(exc, DomainError) else None) or ""
    name = (aliases or {}).get(name, name)
    if name in form.fields and not isinstance(form.fields[name].widget, forms.HiddenInput):
        form.add_error(name, message)
    else:
        form.add_error(None, message)
