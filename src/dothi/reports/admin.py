"""Admin screens for the reports module: categories and their questions, routing, dispatch, response
templates, Open311 keys and (read-mostly) reports, each kept inside the administrator's cities."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db import models as dj_models
from django.utils.translation import gettext_lazy as _

from dothi.core import audit
from dothi.core.admin import CityScopedAdmin
from dothi.core.models import AuditEvent
from dothi.reports import models, services


class _Audited(CityScopedAdmin):
    """Changes made in the admin leave the same audit trail as changes made through services."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        audit.record(
            actor=request.user,
            action=AuditEvent.Action.UPDATE if change else AuditEvent.Action.CREATE,
            obj=obj,
            summary=str(obj)[:300],
            details={"changed": sorted(form.changed_data)},
            request=request,
        )

    def delete_model(self, request, obj):
        audit.record(
            actor=request.user,
            action=AuditEvent.Action.DELETE,
            obj=obj,
            summary=str(obj)[:300],
            request=request,
        )
        super().delete_model(request, obj)


class CategoryAttributeInline(admin.TabularInline):
    model = models.CategoryAttribute
    extra = 0
    fields = ("order", "code", "label_vi", "label_en", "datatype", "required", "values")


@admin.register(models.Category)
class CategoryAdmin(_Audited):
    list_display = ("code", "name_vi", "group", "confidential", "deadline_working_days", "is_active", "city")
    list_filter = ("is_active", "confidential", "group", "city")
    search_fields = ("code", "name_vi", "name_en", "keywords")
    inlines = [CategoryAttributeInline]


@admin.register(models.RoutingRule)
class RoutingRuleAdmin(_Audited):
    list_display = ("category", "commune", "agency", "city")
    list_filter = ("city", ("agency", admin.RelatedOnlyFieldListFilter))
    search_fields = ("category__code", "commune__name", "agency__name_vi")
    raw_id_fields = ("commune",)


@admin.register(models.Dispatch)
class DispatchAdmin(_Audited):
    list_display = ("agency", "method", "email", "endpoint", "last_pulled_at", "city")
    list_filter = ("method", "city")
    exclude = ("api_key_enc",)  # set through a service that encrypts it, never shown
    formfield_overrides = {dj_models.URLField: {"assume_scheme": "https"}}


@admin.register(models.ResponseTemplate)
class ResponseTemplateAdmin(_Audited):
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
    inlines = [ReportPhotoInline]
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
