"""Public and citizen pages of warnings: the list and map of active warnings (with the recently ended
ones), a warning's page (both languages, instructions, attachments, the timeline of its CAP messages,
and for a citizen the "I am safe / I need help" answer when the warning asks), the CAP 1.2 messages as
they were published, the Atom index feed, the map's GeoJSON and the citizen's subscription.

Thin: input through a form, one service or selector, a template or the stored document out. Only
published, ended and cancelled warnings exist here (selectors); staff pages are in staff_views.py.
"""

from __future__ import annotations

import orjson
from django import forms
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import http_date, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from dothi.alerts import atom, selectors, services
from dothi.alerts.models import SafetyReply, Severity
from dothi.core import selectors as core_selectors
from dothi.core.cities import map_centre as _centre
from dothi.core.cities import page_city
from dothi.core.errors import DomainError, NotFound
from dothi.core.notifications import channels as channel_registry
from dothi.core.permissions import can
from dothi.core.ratelimit import citizen_write
from dothi.core.services import set_notification_preferences

TOPIC_PREFIX = "alerts."
INBOX = "inbox"
# The newest message of a warning changes on an update: short caching. A numbered version never does.
LATEST_MAX_AGE = 60
VERSION_MAX_AGE = 86400

# Bootstrap classes of each severity's badge (text and background chosen for contrast).
SEVERITY_BADGE = {
    "Extreme": "text-bg-danger alert-badge-extreme",
    "Severe": "text-bg-danger",
    "Moderate": "text-bg-warning",
    "Minor": "text-bg-info",
    "Unknown": "text-bg-secondary",
}


def _status(exc: DomainError) -> int:
    return exc.status if 400 <= exc.status < 500 else 400


def _get_warning(request, uid):
    try:
        return selectors.warning_by_uid(page_city(request), uid)
    except NotFound:
        raise Http404 from None


def _is_citizen(user, city) -> bool:
    return bool(user and user.is_authenticated and can(user, "alerts.subscribe", city))


def _card(warning, now) -> dict:
    """What a list row or a home notice shows of a warning."""
    return {
        "warning": warning,
        "badge": SEVERITY_BADGE.get(warning.severity, "text-bg-secondary"),
        "active": warning.is_active(now),
        "url": reverse("alerts:detail", args=[warning.uid]),
    }


def _field_error(form: forms.Form, exc: DomainError) -> None:
    """Show a service's refusal next to the field it names (or above the form)."""
    name = {"home_commune_code": "home_commune", "work_commune_code": "work_commune"}.get(
        exc.field or "", exc.field or ""
    )
    form.add_error(name if name in form.fields else None, exc.message)


# --- The list and the map ----------------------------------------------------------------------------


class FilterForm(forms.Form):
    category = forms.ChoiceField(label=gettext_lazy("Category"), required=False)

    def __init__(self, *args, categories=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", _("All categories"))] + [(c.code, c.name) for c in categories]
        self.fields["category"].widget.attrs["class"] = "form-select"

    def chosen(self) -> str | None:
        """The chosen category; an unknown one filters nothing (a public page never fails)."""
        return (self.cleaned_data.get("category") or None) if self.is_valid() else None


@require_safe
def warning_list(request):
    city = page_city(request)
    now = timezone.now()
    form = FilterForm(request.GET or None, categories=selectors.categories(city))
    category = form.chosen() if request.GET else None
    active = [_card(w, now) for w in selectors.active_warnings(city, now=now, category=category)]
    ended = [_card(w, now) for w in selectors.recently_ended(city, now=now, category=category)]
    data_url = reverse("alerts:map_geojson") + (f"?category={category}" if category else "")
    return render(
        request,
        "alerts/list.html",
        {
            "form": form,
            "category": category,
            "warnings": [c for c in active if not c["warning"].category.is_news],
            "news": [c for c in active if c["warning"].category.is_news],
            "active_count": len(active),
            "ended": ended,
            "data_url": data_url,
            "communes_url": reverse("api:communes_geojson"),
            "centre": _centre(city),
            "feed_url": reverse("alerts:feed"),
            "subscription_url": reverse("alerts:subscription"),
            "is_citizen": _is_citizen(request.user, city),
            "time_zone": city.time_zone,
        },
    )


@require_safe
def map_geojson(request):
    """The active warnings' areas (polygons, or their communes' boundaries) as GeoJSON."""
    city = page_city(request)
    form = FilterForm(request.GET or None, categories=selectors.categories(city))
    body = selectors.active_geojson(city, category=form.chosen() if request.GET else None)
    response = HttpResponse(orjson.dumps(body), content_type="application/geo+json")
    response["Cache-Control"] = "public, max-age=30"
    return response


# --- A warning's page ----------------------------------------------------------------------------------


class SafetyForm(forms.Form):
    status = forms.ChoiceField(choices=SafetyReply.Status.choices, widget=forms.HiddenInput)
    note = forms.CharField(
        label=gettext_lazy("Note (optional)"), required=False, max_length=500,
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control", "maxlength": 500}),
        help_text=gettext_lazy("For example how many people are with you, or what you need."),
    )
    # Filled by the browser (alerts.js) when the person agrees to share their location.
    lat = forms.FloatField(required=False, widget=forms.HiddenInput, min_value=-90, max_value=90)
    lon = forms.FloatField(required=False, widget=forms.HiddenInput, min_value=-180, max_value=180)

    def clean(self):
        data = super().clean()
        if (data.get("lat") is None) != (data.get("lon") is None):
            raise forms.ValidationError(_("The location needs both a latitude and a longitude."))
        return data


def _detail_context(request, warning, *, safety_form=None) -> dict:
    city = page_city(request)
    now = timezone.now()
    citizen = _is_citizen(request.user, city)
    asks = bool(warning.asks_safety and warning.is_active(now))
    return {
        "warning": warning,
        "card": _card(warning, now),
        "messages_timeline": [
            {"message": m, "url": reverse("alerts:cap_version", args=[warning.uid, m.version])}
            for m in selectors.messages_of(warning)
        ],
        "attachments": [
            {"attachment": a, "url": reverse("alerts:attachment", args=[warning.uid, a.pk])}
            for a in warning.attachments.all()
        ],
        "cap_url": reverse("alerts:cap", args=[warning.uid]),
        "feed_url": reverse("alerts:feed"),
        "asks_safety": asks,
        "can_reply": asks and citizen,
        "signin_url": reverse("identity:signin") + "?" + urlencode({"next": request.get_full_path()}),
        "reply": selectors.safety_reply_of(request.user, warning) if citizen else None,
        "safety_form": safety_form or SafetyForm(),
        "safety_url": reverse("alerts:safety", args=[warning.uid]),
        "time_zone": city.time_zone,
        "now": now,
        # Staff reading the public page get a way to the warning's desk page.
        "desk_url": reverse("alerts:staff_detail", args=[warning.uid])
        if request.user.is_authenticated and can(request.user, "alerts.draft", city) else "",
    }


@require_safe
def warning_detail(request, uid):
    warning = _get_warning(request, uid)
    return render(request, "alerts/detail.html", _detail_context(request, warning))


@require_POST
@citizen_write("alerts.safety")  # the same counter as the API's answer
def safety(request, uid):
    """A citizen's "I am safe" / "I need help" (the newest answer counts)."""
    warning = _get_warning(request, uid)
    if not request.user.is_authenticated:
        return redirect_to_login(reverse("alerts:detail", args=[warning.uid]))
    form = SafetyForm(request.POST)
    if not form.is_valid():
        context = _detail_context(request, warning, safety_form=form)
        return render(request, "alerts/detail.html", context, status=422)
    data = form.cleaned_data
    try:
        services.safety_reply(
            actor=request.user, warning=warning, status=data["status"], note=data["note"],
            lat=data["lat"], lon=data["lon"],
        )
    except DomainError as exc:
        _field_error(form, exc)
        context = _detail_context(request, warning, safety_form=form)
        return render(request, "alerts/detail.html", context, status=_status(exc))
    if data["status"] == SafetyReply.Status.NEED_HELP:
        messages.warning(request, _("Your call for help has been sent to the control centre."))
    else:
        messages.success(request, _("Thank you. Your answer has been recorded: you are safe."))
    return redirect(reverse("alerts:detail", args=[warning.uid]) + "#safety")


@require_safe
def attachment(request, uid, pk: int):
    warning = _get_warning(request, uid)
    found = warning.attachments.filter(pk=pk).first()
    if found is None:
        raise Http404
    try:
        handle = found.file.open("rb")
    except (FileNotFoundError, ValueError):
        raise Http404 from None
    name = found.file.name.rsplit("/", 1)[-1].split("-", 1)[-1] or "attachment"
    response = FileResponse(handle, content_type=found.mime_type or "application/octet-stream",
                            as_attachment=True, filename=name)
    response["Cache-Control"] = "public, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- CAP messages and the feed ---------------------------------------------------------------------


def _cap_response(message, *, max_age: int, immutable: bool = False) -> HttpResponse:
    # What was published is served byte for byte: the stored XML, never a fresh rendering.
    response = HttpResponse(message.xml.encode("utf-8"), content_type="application/cap+xml; charset=utf-8")
    response["Cache-Control"] = f"public, max-age={max_age}" + (", immutable" if immutable else "")
    response["ETag"] = f'"{message.identifier}"'
    response["Last-Modified"] = http_date(message.sent_at.timestamp())
    return response


@require_safe
def cap_latest(request, uid):
    warning = _get_warning(request, uid)
    try:
        message = selectors.message_of(warning)
    except NotFound:
        raise Http404 from None
    return _cap_response(message, max_age=LATEST_MAX_AGE)


@require_safe
def cap_version(request, uid, version: int):
    warning = _get_warning(request, uid)
    try:
        message = selectors.message_of(warning, version)
    except NotFound:
        raise Http404 from None
    return _cap_response(message, max_age=VERSION_MAX_AGE, immutable=True)


@require_safe
def feed(request):
    """The Atom index of the city's active warnings (and those ended in the last 24 hours)."""
    city = page_city(request)
    body = atom.feed(
        city, selectors.messages_for_feed(city, timezone.now()), base_url=request.build_absolute_uri("/")
    )
    response = HttpResponse(body, content_type="application/atom+xml; charset=utf-8")
    response["Cache-Control"] = f"public, max-age={LATEST_MAX_AGE}"
    return response


# --- The citizen's subscription ----------------------------------------------------------------------


class SubscriptionForm(forms.Form):
    home_commune = forms.ChoiceField(label=gettext_lazy("Where you live"), required=False)
    work_commune = forms.ChoiceField(label=gettext_lazy("Where you work or study"), required=False)
    extra_communes = forms.MultipleChoiceField(
        label=gettext_lazy("Other communes"), required=False,
        help_text=gettext_lazy("For example where your parents live. Hold Ctrl (or ⌘) to choose several."),
    )
    categories = forms.MultipleChoiceField(
        label=gettext_lazy("Categories"), required=False, widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("Choose none to receive every category."),
    )
    min_severity = forms.ChoiceField(
        label=gettext_lazy("Lowest severity"), choices=Severity.choices, initial=Severity.UNKNOWN,
        help_text=gettext_lazy("Warnings below this severity are not sent to you (news has no severity)."),
    )
    channels = forms.MultipleChoiceField(
        label=gettext_lazy("Also send warnings by"), required=False, widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("Every warning is always in your inbox in the app."),
    )

    def __init__(self, *args, communes=(), categories=(), channel_names=(), **kwargs):
        super().__init__(*args, **kwargs)
        commune_choices = [(c.code, c.name) for c in communes]
        self.fields["home_commune"].choices = [("", _("Not chosen"))] + commune_choices
        self.fields["work_commune"].choices = [("", _("Not chosen"))] + commune_choices
        self.fields["extra_communes"].choices = commune_choices
        self.fields["categories"].choices = [(c.code, c.name) for c in categories]
        labels = {
            "email": _("E-mail"), "sms": _("SMS"), "zalo": _("Zalo"), "webpush": _("Browser notifications"),
        }
        self.fields["channels"].choices = [(n, labels.get(n, n)) for n in channel_names]
        for name in ("home_commune", "work_commune", "extra_communes"):
            self.fields[name].widget.attrs["class"] = "form-select commune-select"
        self.fields["min_severity"].widget.attrs["class"] = "form-select"
        self.fields["extra_communes"].widget.attrs["size"] = 8
        for name in ("categories", "channels"):
            self.fields[name].widget.attrs["class"] = "form-check-input"


def _channel_names() -> list[str]:
    return [n for n in channel_registry.names() if n != INBOX]


def _current_channels(user, category_codes) -> list[str]:
    """The extra channels the person chose for warnings (the first category topic that has a choice)."""
    prefs = core_selectors.notification_preferences(user)
    for code in category_codes:
        chosen = prefs.get(TOPIC_PREFIX + code)
        if chosen is not None:
            return [c for c in chosen if c != INBOX]
    return []


def _initial(subscription) -> dict:
    if subscription is None:
        return {"min_severity": Severity.UNKNOWN}
    return {
        "home_commune": subscription.home_commune_id or "",
        "work_commune": subscription.work_commune_id or "",
        "extra_communes": list(subscription.extra_communes or []),
        "categories": subscription.category_codes(),
        "min_severity": subscription.min_severity,
    }


@require_http_methods(["GET", "HEAD", "POST"])
@citizen_write("alerts.subscribe")
def subscription(request):
    city = page_city(request)
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not _is_citizen(request.user, city):
        raise PermissionDenied(_("Choosing warnings is for citizens signed in with their citizen ID."))
    communes = list(core_selectors.communes_of_city(city).only("code", "name"))
    cats = list(selectors.categories(city))
    all_codes = [c.code for c in cats]
    current = selectors.subscription_of(request.user, city)
    kwargs = {"communes": communes, "categories": cats, "channel_names": _channel_names()}
    status = 200
    if request.method == "POST":
        form = SubscriptionForm(request.POST, **kwargs)
        if form.is_valid():
            data = form.cleaned_data
            try:
                # The areas and the channels are one choice: both are kept, or neither.
                with transaction.atomic():
                    services.subscription_set(
                        actor=request.user, city=city,
                        home_commune=data["home_commune"] or None,
                        work_commune=data["work_commune"] or None,
                        extra_communes=tuple(data["extra_communes"]),
                        categories=tuple(data["categories"]),
                        min_severity=data["min_severity"],
                    )
                    # Delivery reads the person's channels for the topic "alerts.<category>" (else
                    # their "*" choice, which also governs other modules: left alone here).
                    for code in data["categories"] or all_codes:
                        set_notification_preferences(
                            user=request.user, topic=TOPIC_PREFIX + code, channels=list(data["channels"])
                        )
            except DomainError as exc:
                _field_error(form, exc)
                status = _status(exc)
            else:
                messages.success(request, _("Your warning choices have been saved."))
                return redirect("alerts:subscription")
        else:
            status = 422
    else:
        initial = _initial(current)
        initial["channels"] = _current_channels(request.user, initial.get("categories") or all_codes)
        form = SubscriptionForm(initial=initial, **kwargs)
    return render(
        request,
        "alerts/subscription.html",
        {"form": form, "subscription": current, "list_url": reverse("alerts:list")},
        status=status,
    )


@require_safe
def warning_fragment(request, uid):
    """The control centre's drill-down of a warning: an HTML fragment (no page around it) with its
    headline, severity, area, times, what was measured (automatic ones) and instructions; for those
    who read the "are you safe?" replies (alerts.read_replies), their counts (never who)."""
    warning = _get_warning(request, uid)
    city = warning.city
    now = timezone.now()
    replies = None
    if can(request.user, "alerts.read_replies", city):
        counted = next((w for w in selectors.safety_warnings(city, now=now) if w.pk == warning.pk), None)
        if counted is not None:
            replies = {"need_help": counted.n_need_help, "open": counted.n_open, "safe": counted.n_safe}
    response = render(
        request,
        "alerts/_ioc_warning.html",
        {
            "card": _card(warning, now),
            "w": warning,
            "replies": replies,
            "replies_url": reverse("alerts:staff_replies") + f"?warning={warning.uid}",
        },
    )
    response["Cache-Control"] = "private, no-store"
    return response
