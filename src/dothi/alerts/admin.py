"""Admin screens of the warnings module, each kept inside the administrator's cities.

- Categories and rules are configured here (audited like every admin change); a rule is checked by
  the rule engine's own validation (`rules.rule_clean`), so the admin accepts exactly what the engine
  can evaluate.
- Warnings, their CAP messages and delivery runs are read-only: a warning is published, updated and
  cancelled through the warnings desk (four eyes, an immutable CAP message per version), never edited
  in place.
- Subscriptions show no more than the person's user id: where someone lives and works is theirs.
- Safety replies ("I need help", with a note and a location) are personal data: the list shows no
  person and no location, and every opening of a reply, or of the list, is recorded in the audit trail.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from dothi.alerts import models
from dothi.core import audit
from dothi.core.admin import AuditedCityAdmin, CityScopedAdmin, admin_cities
from dothi.core.errors import DomainError
from dothi.core.models import AuditEvent, City


class _ReadOnly:
    """Browsed, never added to, changed or deleted here."""

    actions = None

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _same_city(form: forms.ModelForm, data: dict, names: tuple[str, ...]) -> None:
    city = data.get("city") or getattr(form.instance, "city", None)
    if city is None:
        return
    for name in names:
        related = data.get(name)
        if related is not None and related.city_id != city.pk:
            form.add_error(name, _("It belongs to another city."))


@admin.register(models.AlertCategory)
class AlertCategoryAdmin(AuditedCityAdmin):
    list_display = ("code", "name_vi", "name_en", "cap_category", "is_news", "asks_safety", "order",
                    "is_active", "city")
    list_filter = ("cap_category", "is_news", "asks_safety", "is_active", "city")
    search_fields = ("code", "name_vi", "name_en")


class AlertRuleForm(forms.ModelForm):
    class Meta:
        model = models.AlertRule
        fields = (
            "city", "name", "category", "quantity_code", "statistic", "operator", "levels", "hysteresis",
            "duration_minutes", "commune_codes", "polygon", "area_desc_vi", "area_desc_en", "urgency",
            "certainty", "headline_vi", "headline_en", "instruction_vi", "instruction_en", "issuer",
            "is_active",
        )

    def clean(self):
        data = super().clean()
        _same_city(self, data, ("category", "issuer"))
        return data

    def _post_clean(self):
        # The rule engine's validation needs the whole rule, which exists only once the form has put
        # its values on the instance (here, after the field and model checks).
        super()._post_clean()
        if self.errors:
            return
        from dothi.alerts import rules

        try:
            rules.rule_clean(self.instance)
        except ValidationError as exc:
            self._update_errors(exc)
        except DomainError as exc:
            field = getattr(exc, "field", None)
            self.add_error(field if field in self.fields else None, exc.message)


@admin.register(models.AlertRule)
class AlertRuleAdmin(AuditedCityAdmin):
    form = AlertRuleForm
    list_display = ("name", "category", "quantity_code", "statistic", "operator", "duration_minutes",
                    "is_active", "city")
    list_filter = ("is_active", "statistic", "category", "city")
    search_fields = ("name", "quantity_code")
    readonly_fields = ("created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("city", "name", "category", "issuer", "is_active")}),
        (_("Condition"), {"fields": ("quantity_code", "statistic", "operator", "levels", "hysteresis",
                                     "duration_minutes")}),
        (_("Area"), {"fields": ("commune_codes", "polygon", "area_desc_vi", "area_desc_en")}),
        (_("The warning"), {"fields": ("urgency", "certainty", "headline_vi", "headline_en", "instruction_vi",
                                       "instruction_en")}),
        (_("More"), {"fields": ("created_at", "updated_at")}),
    )


class CapMessageInline(_ReadOnly, admin.TabularInline):
    model = models.CapMessage
    extra = 0
    can_delete = False
    fields = ("version", "msg_type", "identifier", "sent_at", "delivery", "xml_link")
    readonly_fields = fields
    ordering = ("version",)

    def has_view_permission(self, request, obj=None):
        # Whoever may see the warning (CityScopedAdmin) sees its messages; not Django's model permissions.
        return request.user.is_active and (request.user.is_superuser or bool(admin_cities(request)))

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("fanout", "warning")

    @admin.display(description=_("delivery"))
    def delivery(self, obj):
        fanout = getattr(obj, "fanout", None) if obj.pk else None
        if fanout is None:
            return "—"
        return f"{fanout.get_status_display()} · {fanout.inbox}/{fanout.targeted}"

    @admin.display(description=_("CAP XML"))
    def xml_link(self, obj):
        try:
            url = reverse("alerts:cap_version", args=[obj.warning.uid, obj.version])
        except NoReverseMatch:
            return "—"
        return format_html('<a href="{}">{}</a>', url, f"v{obj.version}.cap.xml")


@admin.register(models.PublicWarning)
class PublicWarningAdmin(_ReadOnly, CityScopedAdmin):
    list_display = ("headline_vi", "category", "source", "status", "severity", "version", "effective_at",
                    "expires_at", "city")
    list_filter = ("status", "source", "severity", "category", "city")
    search_fields = ("headline_vi", "headline_en", "uid")
    date_hierarchy = "effective_at"
    list_select_related = ("category", "city")
    inlines = [CapMessageInline]
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]


@admin.register(models.Fanout)
class FanoutAdmin(_ReadOnly, CityScopedAdmin):
    list_display = ("message", "status", "targeted", "inbox", "channel_deliveries", "created_at",
                    "started_at", "finished_at", "city")
    list_filter = ("status", "city")
    list_select_related = ("message", "city")
    search_fields = ("message__identifier",)
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]


@admin.register(models.Subscription)
class SubscriptionAdmin(_ReadOnly, CityScopedAdmin):
    """Counts and choices, not people: the user id only, no name, no home or work commune."""

    list_display = ("user_id", "categories", "min_severity", "area_count", "is_active", "updated_at", "city")
    list_filter = ("is_active", "min_severity", "city")
    fields = ("city", "user_id", "categories", "min_severity", "is_active", "area_count", "created_at",
              "updated_at")
    readonly_fields = fields
    show_full_result_count = False

    def get_queryset(self, request):
        from django.db.models import Count

        return super().get_queryset(request).select_related("city").annotate(n_areas=Count("areas"))

    @admin.display(description=_("communes"), ordering="n_areas")
    def area_count(self, obj):
        return getattr(obj, "n_areas", None)


@admin.register(models.SafetyReply)
class SafetyReplyAdmin(_ReadOnly, CityScopedAdmin):
    """Replies to "are you safe?". The list shows which warning, what and when; opening a reply shows
    its note and location (and the person's user id), and is recorded as a read of personal data."""

    list_display = ("warning", "status", "is_handled", "created_at", "updated_at", "city")
    list_filter = ("status", ("handled_at", admin.EmptyFieldListFilter), "city")
    list_select_related = ("warning", "city")
    fields = ("city", "warning", "status", "user_id", "note", "lat", "lon", "commune", "created_at",
              "updated_at", "handled_at", "handled_by_id")
    readonly_fields = fields
    show_full_result_count = False
    PERSONAL_FIELDS = ["user_id", "note", "lat", "lon", "commune"]

    @admin.display(description=_("handled"), boolean=True)
    def is_handled(self, obj):
        return obj.handled_at is not None

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        if getattr(response, "status_code", 200) == 200:
            cities = admin_cities(request)
            # Who looked at the list of people's answers, and in which city (all of them: one record each).
            for city_id in cities if cities else [None]:
                audit.record(
                    actor=request.user,
                    action=AuditEvent.Action.READ_PERSONAL,
                    object_type="alerts.safetyreply",
                    city=City.objects.filter(pk=city_id).first() if city_id else None,
                    summary="safety replies list (admin)",
                    details={"fields": ["status", "warning"]},
                    request=request,
                )
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        reply = getattr(response, "context_data", {}).get("original") if response.status_code == 200 else None
        if reply is not None:
            audit.read_personal(
                actor=request.user, subject=reply, city=reply.city, request=request,
                fields=[f for f in self.PERSONAL_FIELDS if getattr(reply, f, None) not in (None, "")],
            )
        return response
