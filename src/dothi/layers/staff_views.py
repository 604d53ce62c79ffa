"""Staff pages of the spatial layers under /layers/staff/: the catalogue as staff see it (internal
layers included) with what each person may do, creating and editing a layer, uploading an import and
its result (the counts added, updated and removed, or the line/feature and reason of a rejection),
uploading population per commune, and the log of every import.

Thin: a form in, one service, a template out. The services check permissions again (agency managers
import only into the layers their agency owns) and validate; what they refuse is shown on the form
(4xx, nothing stored). An import runs while the request waits (the browser shows the upload's
progress); a rejected file leaves the layer as it was and is in the log.
"""

from __future__ import annotations

import functools
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from dothi.core import selectors as core_selectors
from dothi.core.cities import page_city
from dothi.core.errors import DomainError, NotFound
from dothi.core.forms import apply_error
from dothi.core.permissions import can
from dothi.layers import forms, selectors
from dothi.layers.api import MAX_POPULATION_BYTES, MAX_UPLOAD_BYTES, read_upload, rejected_import
from dothi.layers.models import Layer

PAGE_SIZE = 20
STAFF_OPERATIONS = ("layers.manage", "layers.import", "layers.population")


def _status(exc: DomainError) -> int:
    return exc.status if 400 <= exc.status < 500 else 400


def staff_page(*operations: str):
    """A staff page: signed in (else the staff sign-in page), holding one of `operations` in the city
    (else 403); the view runs in the city's time zone and gets the city as its second argument."""

    def decorator(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path(), reverse("identity:staff_signin"))
            city = page_city(request)
            if not any(can(request.user, op, city) for op in operations):
                raise PermissionDenied(_("You do not have permission to do this."))
            with timezone.override(ZoneInfo(city.time_zone or settings.TIME_ZONE)):
                return view(request, city, *args, **kwargs)

        return wrapped

    return decorator


def _layer(request, city, code: str) -> Layer:
    try:
        return selectors.layer_by_code(city, code, user=request.user)
    except NotFound:
        raise Http404 from None


def _own_organisations(user, city) -> set[int]:
    """The organisations whose layers an agency manager imports into."""
    return set(
        user.memberships.filter(city=city, role="agency_manager", organisation__isnull=False).values_list(
            "organisation_id", flat=True
        )
    )


def may_import(user, layer: Layer, *, everything: bool | None = None, own: set[int] | None = None) -> bool:
    """Whether the person may import into the layer: city administrators and operators every layer,
    agency managers the layers their agency owns (the service decides again)."""
    city = layer.city
    if everything is None:
        everything = can(user, "layers.manage", city)
    if everything:
        return can(user, "layers.import", city)
    if not can(user, "layers.import", city):
        return False
    own = _own_organisations(user, city) if own is None else own
    return layer.owner_id is not None and layer.owner_id in own


# --- The catalogue as staff see it -------------------------------------------------------------------


@require_safe
@staff_page(*STAFF_OPERATIONS)
def staff_home(request, city):
    may_manage = can(request.user, "layers.manage", city)
    own = _own_organisations(request.user, city)
    page = Paginator(selectors.catalogue(city, user=request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = [
        {"layer": layer, "may_import": may_import(request.user, layer, everything=may_manage, own=own)}
        for layer in page.object_list
    ]
    return render(
        request,
        "layers/staff/home.html",
        {
            "page": page,
            "rows": rows,
            "may_manage": may_manage,
            "may_population": can(request.user, "layers.population", city),
            "recent": list(selectors.imports_of_city(city, user=request.user)[:5]),
        },
    )


# --- Creating and editing a layer ----------------------------------------------------------------------


def _owners(city):
    return list(core_selectors.organisations(city))


def _layer_form_page(request, form, *, layer=None, status: int = 200):
    context = {
        "form": form,
        "layer": layer,
        "title": _("Edit the layer") if layer else _("New layer"),
        "action": reverse("layers:staff_edit", args=[layer.code]) if layer else reverse("layers:staff_new"),
    }
    return render(request, "layers/staff/form.html", context, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
@staff_page("layers.manage")
def staff_new(request, city):
    from dothi.layers import services

    if request.method != "POST":
        return _layer_form_page(request, forms.LayerForm(owners=_owners(city)))
    form = forms.LayerForm(request.POST, owners=_owners(city))
    if not form.is_valid():
        return _layer_form_page(request, form, status=422)
    try:
        layer = services.layer_create(
            actor=request.user, city=city, code=form.cleaned_data["code"], **form.service_fields()
        )
    except DomainError as exc:
        apply_error(form, exc)
        return _layer_form_page(request, form, status=_status(exc))
    messages.success(
        request, _("The layer “%(name)s” is created. Import its features next.") % {"name": layer.name}
    )
    return redirect("layers:staff_import", code=layer.code)


@require_http_methods(["GET", "HEAD", "POST"])
@staff_page("layers.manage")
def staff_edit(request, city, code: str):
    from dothi.layers import services

    layer = _layer(request, city, code)
    if request.method != "POST":
        form = forms.LayerForm(initial=forms.LayerForm.initial_for(layer), owners=_owners(city), editing=True)
        return _layer_form_page(request, form, layer=layer)
    form = forms.LayerForm(
        request.POST, initial=forms.LayerForm.initial_for(layer), owners=_owners(city), editing=True
    )
    if not form.is_valid():
        return _layer_form_page(request, form, layer=layer, status=422)
    fields = {name: value for name, value in form.service_fields().items() if name in form.changed_data}
    if fields:
        try:
            services.layer_update(actor=request.user, layer=layer, **fields)
        except DomainError as exc:
            apply_error(form, exc)
            return _layer_form_page(request, form, layer=layer, status=_status(exc))
        messages.success(request, _("The layer is saved."))
    else:
        messages.info(request, _("Nothing was changed."))
    return redirect("layers:staff_home")


# --- Imports -------------------------------------------------------------------------------------------


def _import_page(request, layer, form, *, status: int = 200):
    return render(
        request,
        "layers/staff/import.html",
        {
            "layer": layer,
            "form": form,
            "recent": list(selectors.imports_of(layer)[:5]),
            "max_mb": MAX_UPLOAD_BYTES // (1024 * 1024),
        },
        status=status,
    )


@require_http_methods(["GET", "HEAD", "POST"])
@staff_page("layers.import")
def staff_import(request, city, code: str):
    from dothi.layers import services

    layer = _layer(request, city, code)
    if not may_import(request.user, layer):
        raise PermissionDenied(
            _("Only the agency that owns this layer, operators and city administrators import it.")
        )
    if request.method != "POST":
        return _import_page(request, layer, forms.ImportForm())
    form = forms.ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _import_page(request, layer, form, status=422)
    data = form.cleaned_data
    upload = data["file"]
    try:
        row = services.layer_import(
            actor=request.user,
            layer=layer,
            data=read_upload(upload, limit=MAX_UPLOAD_BYTES),
            filename=(upload.name or "")[-200:],
            format=data["format"] or None,
            srid=data["srid"],
            mode=data["mode"],
            lon_column=data["lon_column"] or None,
            lat_column=data["lat_column"] or None,
        )
    except DomainError as exc:
        rejected = rejected_import(layer, exc)
        if rejected is None:  # refused before reading (too large, empty): nothing in the changelog
            apply_error(form, exc, aliases={"data": "file"})
            return _import_page(request, layer, form, status=_status(exc))
        messages.error(request, _("The file is rejected: the layer is unchanged."))
        return redirect("layers:staff_import_result", pk=rejected.pk)
    messages.success(request, _("The file is imported."))
    return redirect("layers:staff_import_result", pk=row.pk)


@require_safe
@staff_page(*STAFF_OPERATIONS)
def staff_import_result(request, city, pk: int):
    row = selectors.imports_of_city(city, user=request.user).filter(pk=pk).first()
    if row is None:
        raise Http404
    return render(
        request,
        "layers/staff/import_result.html",
        {
            "row": row,
            "layer": row.layer,
            "may_import": may_import(request.user, row.layer),
            "reassigned": sorted((row.reassigned or {}).items()),
        },
        status=200,
    )


@require_safe
@staff_page(*STAFF_OPERATIONS)
def staff_imports(request, city):
    page = Paginator(selectors.imports_of_city(city, user=request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "layers/staff/imports.html", {"page": page})


# --- Population --------------------------------------------------------------------------------------


def _population_page(request, city, form, *, status: int = 200):
    rows = sorted(selectors.population(city).values(), key=lambda r: r.commune.name)
    return render(
        request,
        "layers/staff/population.html",
        {"form": form, "rows": rows, "total": sum(r.population for r in rows)},
        status=status,
    )


@require_http_methods(["GET", "HEAD", "POST"])
@staff_page("layers.population")
def staff_population(request, city):
    from dothi.layers import services

    if request.method != "POST":
        return _population_page(request, city, forms.PopulationForm())
    form = forms.PopulationForm(request.POST, request.FILES)
    if not form.is_valid():
        return _population_page(request, city, form, status=422)
    data = form.cleaned_data
    upload = data["file"]
    try:
        n = services.population_import(
            actor=request.user,
            city=city,
            data=read_upload(upload, limit=MAX_POPULATION_BYTES),
            filename=(upload.name or "")[-200:],
            year=data["year"],
            source=data["source"],
        )
    except DomainError as exc:
        apply_error(form, exc)
        return _population_page(request, city, form, status=_status(exc))
    messages.success(request, _("Population imported: %(n)d rows.") % {"n": n})
    return redirect("layers:staff_population")
