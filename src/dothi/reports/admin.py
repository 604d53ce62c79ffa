"""Admin screens for the reports module: categories and their questions, routing, dispatch, response
templates, Open311 keys and (read-mostly) reports, each kept inside the administrator's cities."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db import models as dj_models
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from dothi.core import audit
from dothi.core.admin import AuditedCityAdmin, CityScopedAdmin, admin_cities
from dothi.core.models import AuditEvent
from dothi.reports import models, services


class CategoryAttributeInline(admin.TabularInline):
    model = models.CategoryAttribute
    extra = 0
    fields = ("order", "code", "label_vi", "label_en", "datatype", "required", "values")


@admin.register(models.Category)
class CategoryAdmin(AuditedCityAdmin):
    list_display = ("code", "name_vi", "group", "confidential", "deadline_working_days", "is_active", "city")
    list_filter = ("is_active", "confidential", "group", "city")
    search_fields = ("code", "name_vi", "name_en", "keywords")
    inlines = [CategoryAttributeInline]


@admin.register(models.RoutingRule)
class RoutingRuleAdmin(AuditedCityAdmin):
    list_display = ("category", "commune", "agency", "city")
    list_filter = ("city", ("agency", admin.RelatedOnlyFieldListFilter))
    search_fields = ("category__code", "commune__name", "agency__name_vi")
    raw_id_fields = ("commune",)


class DispatchForm(forms.ModelForm):
    """The agency system's API key is write-only: typed here, stored encrypted, never shown again."""

    api_key = forms.CharField(
        label=_("API key"),
        required=False,
        strip=True,
        max_length=500,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("The key the agency's system issued to this platform. Stored encrypted and never "
                    "shown; leave it blank to keep the current key."),
    )
    clear_api_key = forms.BooleanField(label=_("Remove the stored API key"), required=False)
    # Declared here so the form class is built with https as the assumed scheme (Django 6's default).
    endpoint = forms.URLField(label=_("Open311 endpoint"), required=False, assume_scheme="https",
                              max_length=200)

    class Meta:
        model = models.Dispatch
        fields = ("city", "agency", "method", "email", "endpoint", "jurisdiction", "service_codes")

    def clean(self):
        data = super().clean()
        has_key = bool(data.get("api_key")) or (
            bool(self.instance.api_key_enc) and not data.get("clear_api_key")
        )
        if data.get("method") == models.Dispatch.Method.OPEN311 and not has_key:
            self.add_error("api_key", _("The agency's system needs the API key it issued to this platform."))
        return data


@admin.register(models.Dispatch)
class DispatchAdmin(AuditedCityAdmin):
    form = DispatchForm
    list_display = ("agency", "method", "email", "endpoint", "last_pulled_at", "tickets", "city")
    list_filter = ("method", "city")
    list_select_related = ("agency", "city")
    formfield_overrides = {dj_models.URLField: {"assume_scheme": "https"}}
    readonly_fields = ("api_key_state", "last_pulled_at", "tickets")
    # The method's own fields; static/reports/dispatch_admin.js hides the other method's.
    fieldsets = (
        (None, {"fields": ("city", "agency", "method", "tickets")}),
        (_("E-mail"), {
            "classes": ("dispatch-method", "dispatch-email"),
            "description": _("Each report routed to the agency is announced by e-mail; its staff answer "
                             "it in the platform."),
            "fields": ("email",),
        }),
        (_("The agency's own system (Open311)"), {
            "classes": ("dispatch-method", "dispatch-open311"),
            "description": _("Each report is posted to the agency's GeoReport v2 service and its status "
                             "is read back every few minutes. Service codes: {\"our category code\": "
                             "\"their service code\"}, or {\"code\": {\"service_code\": …, "
                             "\"attributes\": {\"our question\": \"their attribute\"}}}; a category not "
                             "listed keeps its own code."),
            "fields": ("endpoint", "jurisdiction", "api_key", "api_key_state", "clear_api_key",
                       "service_codes", "last_pulled_at"),
        }),
    )

    class Media:
        js = ("reports/dispatch_admin.js",)

    @admin.display(description=_("API key"))
    def api_key_state(self, obj):
        return _("stored (encrypted)") if obj and obj.api_key_enc else _("none")

    @admin.display(description=_("Tickets"))
    def tickets(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        counts = dict(
            models.ExternalTicket.objects.filter(agency_id=obj.agency_id)
            .values_list("state").annotate(n=Count("id")).order_by()
        )
        url = reverse("admin:reports_externalticket_changelist") + f"?agency__id__exact={obj.agency_id}"
        states = models.ExternalTicket.State.choices
        summary = ", ".join(f"{label}: {counts[value]}" for value, label in states if value in counts)
        return format_html('<a href="{}">{}</a>', url, summary or _("none yet"))

    def save_model(self, request, obj, form, change):
        from dothi.identity import crypto

        if form.cleaned_data.get("api_key"):
            obj.api_key_enc = crypto.encrypt(form.cleaned_data["api_key"])
        elif form.cleaned_data.get("clear_api_key"):
            obj.api_key_enc = ""
        # The audit record names the changed fields ("api_key"), never the key.
        super().save_model(request, obj, form, change)


class _TicketFields:
    fields = ("agency", "method", "state", "external_id", "token", "external_status", "external_notes",
              "external_updated_at", "attempts", "last_error", "next_attempt_at", "sent_at", "created_at")
    readonly_fields = fields


class ExternalTicketInline(_TicketFields, admin.TabularInline):
    model = models.ExternalTicket
    fk_name = "report"
    extra = 0
    can_delete = False
    fields = ("agency", "method", "state", "external_id", "attempts", "last_error", "sent_at")
    readonly_fields = fields

    def has_view_permission(self, request, obj=None):
        # Whoever may see the report (its city's administrators) sees where it was sent.
        return request.user.is_active and (request.user.is_superuser or bool(admin_cities(request)))

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(models.ExternalTicket)
class ExternalTicketAdmin(_TicketFields, CityScopedAdmin):
    """Reports sent outside the platform (e-mail notices, tickets in agencies' own systems): read-only,
    with a retry for failed ones."""

    list_display = ("report", "agency", "method", "state", "external_id", "attempts", "short_error",
                    "next_attempt_at", "updated_at", "city")
    list_filter = ("state", "method", "city", ("agency", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("report", "agency", "city")
    search_fields = ("report__reference", "external_id")
    fields = ("report", *_TicketFields.fields, "city")
    readonly_fields = fields
    actions = ["retry"]

    @admin.display(description=_("last error"))
    def short_error(self, obj):
        return (obj.last_error[:80] + "…") if len(obj.last_error) > 80 else obj.last_error

    @admin.action(description=_("Send the selected failed tickets again"))
    def retry(self, request, queryset):
        from dothi.reports import dispatch

        count = dispatch.dispatch_retry(actor=request.user, tickets=queryset.select_related("city"))
        messages.success(request, _("%(count)d ticket(s) queued to be sent again.") % {"count": count})

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(models.ResponseTemplate)
class ResponseTemplateAdmin(AuditedCityAdmin):
    list_display = ("title", "agency", "city")
    list_filter = ("city", ("agency", admin.RelatedOnlyFieldListFilter))
    search_fields = ("title", "text_vi", "text_en")


@admin.register(models.Open311Key)
class Open311KeyAdmin(CityScopedAdmin):
    list_display = ("name", "prefix", "is_active", "rate", "created_at", "last_used_at", "city")
    list_filter = ("is_active", "city")
    search_fields = ("name", "prefix", "contact")
    fields = ("city", "name", "contact", "rate", "is_active")
    actions = ["revoke"]

    def get_readonly_fields(self, request, obj=None):
        return ("city",) if obj is not None else ()

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            audit.record(
                actor=request.user,
                action=AuditEvent.Action.UPDATE,
                obj=obj,
                request=request,
                details={"changed": sorted(form.changed_data)},
            )
            return
        key, plaintext = services.open311_key_issue(
            actor=request.user, city=obj.city, name=obj.name, contact=obj.contact
        )
        models.Open311Key.objects.filter(pk=key.pk).update(rate=obj.rate, is_active=obj.is_active)
        obj.pk, obj.prefix, obj.key_hash = key.pk, key.prefix, key.key_hash
        # Shown once: only its hash is stored.
        messages.warning(
            request,
            _("The key for %(name)s is %(key)s — copy it now: it will not be shown again.")
            % {"name": key.name, "key": plaintext},
        )

    @admin.action(description=_("Revoke the selected keys"))
    def revoke(self, request, queryset):
        for key in queryset:
            services.open311_key_revoke(actor=request.user, key=key)


class ReportPhotoInline(admin.TabularInline):
    model = models.ReportPhoto
    extra = 0
    fields = ("kind", "file", "content_type", "size", "hidden", "created_at")
    readonly_fields = ("kind", "file", "content_type", "size", "created_at")
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(models.Report)
class ReportAdmin(CityScopedAdmin):
    """Read-mostly: the workflow runs through the staff screens (services), not through admin edits."""

    list_display = ("reference", "category", "status", "agency", "commune", "submitted_at", "due_at", "city")
    list_filter = ("status", "channel", "confidential", "hidden", "city")
    search_fields = ("reference",)
    date_hierarchy = "submitted_at"
    inlines = [ReportPhotoInline, ExternalTicketInline]
    exclude = ("reporter_contact_enc", "idempotency_key")
    readonly_fields = (
        "reference",
        "category",
        "commune",
        "agency",
        "assignee",
        "status",
        "priority",
        "confidential",
        "channel",
        "lat",
        "lon",
        "address",
        "description",
        "attributes",
        "reporter",
        "filed_by",
        "open311_key",
        "external_id",
        "submitted_at",
        "acknowledged_at",
        "resolved_at",
        "closed_at",
        "due_at",
        "paused_at",
        "escalated_at",
        "reopen_count",
        "duplicate_of",
        "hidden",
        "public_description",
        "city",
    )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
