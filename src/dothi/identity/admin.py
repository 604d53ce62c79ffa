"""Admin for people. Lists never show identifiers; decrypting one is a separate, audited action."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dothi.core.admin import CityScopedAdmin, admin_cities
from dothi.core.errors import DomainError
from dothi.identity import selectors
from dothi.identity.models import Consent, Membership, User


class MembershipInline(admin.TabularInline):
    model = Membership
    fk_name = "user"
    extra = 0


@admin.register(User)
class UserAdmin(CityScopedAdmin):
    list_display = [
        "username",
        "display_name",
        "kind",
        "verification_level",
        "home_city",
        "is_active",
        "erased_at",
    ]
    list_filter = ["kind", "verification_level", "is_active", "home_city"]
    search_fields = ["username", "display_name"]
    ordering = ["-date_joined"]
    # The encrypted columns and their hashes are never shown or edited here.
    exclude = ["id_number_enc", "id_number_hash", "phone_enc", "phone_hash", "password"]
    readonly_fields = ["last_login", "date_joined", "erased_at", "verified_by", "personal_data_link"]
    inlines = [MembershipInline]

    def get_queryset(self, request):
        qs = admin.ModelAdmin.get_queryset(self, request).select_related("home_city")
        cities = admin_cities(request)
        if cities is None:
            return qs
        # A city administrator sees the city's citizens and the city's staff, nobody else.
        return (qs.filter(home_city__in=cities) | qs.filter(memberships__city__in=cities)).distinct()

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            # A city administrator must not be able to grant platform-wide powers, to others or to themselves.
            fields += ["is_superuser", "is_staff", "groups", "user_permissions", "kind", "verification_level"]
        return fields

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        # Accounts are erased, not deleted, so audit records keep pointing at a row.
        return False

    @admin.display(description=gettext_lazy("personal data"))
    def personal_data_link(self, obj):
        from django.utils.html import format_html

        if obj.pk is None or not obj.is_citizen or obj.erased_at:
            return "—"
        url = reverse("admin:identity_user_personal", args=[obj.pk])
        return format_html(
            '<a class="button" href="{}">{}</a>', url, _("View personal data (recorded in the audit trail)")
        )

    def get_urls(self):
        return [
            path(
                "<int:pk>/personal/",
                self.admin_site.admin_view(self.personal_view),
                name="identity_user_personal",
            ),
            *super().get_urls(),
        ]

    def personal_view(self, request, pk: int):
        citizen = get_object_or_404(self.get_queryset(request), pk=pk)
        if citizen.home_city is None:
            raise PermissionDenied
        try:
            data = selectors.citizen_personal_data(
                actor=request.user, citizen=citizen, city=citizen.home_city, request=request
            )
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect("admin:identity_user_change", pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": citizen,
            "title": _("Personal data of %(name)s") % {"name": citizen},
            "data": data,
        }
        return TemplateResponse(request, "admin/identity/user/personal.html", context)


@admin.register(Membership)
class MembershipAdmin(CityScopedAdmin):
    list_display = ["user", "role", "organisation", "city", "created_at"]
    list_filter = ["role", "city"]
    search_fields = ["user__username", "user__display_name"]
    raw_id_fields = ["user"]


@admin.register(Consent)
class ConsentAdmin(admin.ModelAdmin):
    list_display = ["user", "notice_version", "given_at", "withdrawn_at"]
    list_filter = ["notice_version"]
    readonly_fields = ["user", "notice_version", "purposes", "given_at", "withdrawn_at"]

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        cities = admin_cities(request)
        return qs if cities is None else qs.filter(user__home_city__in=cities)

    def has_module_permission(self, request):
        return request.user.is_active and (request.user.is_superuser or bool(admin_cities(request)))

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
