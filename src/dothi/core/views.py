from __future__ import annotations

from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


def ratelimited(request, exception=None):
    message = _("Too many requests. Please wait a little and try again.")
    if request.path.startswith("/api/") or request.headers.get("Accept", "").startswith("application/json"):
        return JsonResponse({"code": "rate_limited", "message": message}, status=429)
    return render(request, "web/error.html", {"message": message, "status": 429}, status=429)


# --- The notification inbox (/notifications/) ---------------------------------------------------

from django.contrib import messages  # noqa: E402 - appended section keeps its imports together
from django.contrib.auth.decorators import login_required  # noqa: E402
from django.core.paginator import Paginator  # noqa: E402
from django.http import Http404  # noqa: E402
from django.shortcuts import redirect  # noqa: E402
from django.utils.http import url_has_allowed_host_and_scheme  # noqa: E402
from django.utils.translation import ngettext  # noqa: E402
from django.views.decorators.http import require_http_methods, require_POST  # noqa: E402

from dothi.core import selectors, services  # noqa: E402
from dothi.core.errors import DomainError, NotFound  # noqa: E402
from dothi.core.notifications import INBOX, channels  # noqa: E402
from dothi.core.ratelimit import citizen_write  # noqa: E402


@login_required
@require_http_methods(["GET", "HEAD"])
def notifications(request):
    page = Paginator(selectors.notifications_for(request.user, request.city), 20).get_page(
        request.GET.get("page")
    )
    chosen = selectors.notification_preferences(request.user).get("*", [INBOX])
    return render(request, "core/notifications.html", {
        "page": page,
        "unread": selectors.notification_unread_count(request.user, request.city),
        "channel_choices": [(name, name in chosen) for name in channels.names() if name != INBOX],
    })


@login_required
@require_POST
def notification_read(request, notification_id: int):
    try:
        notification = services.notification_mark_read(user=request.user, notification_id=notification_id)
    except NotFound:
        raise Http404
    # Follow the link only if it stays on this site (never an open redirect).
    if notification.url and url_has_allowed_host_and_scheme(
        notification.url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(notification.url)
    return redirect("core:notifications")


@login_required
@require_POST
def notifications_read_all(request):
    count = services.notification_mark_all_read(user=request.user, city=request.city)
    text = ngettext("%(count)d notification marked read.", "%(count)d notifications marked read.", count)
    messages.success(request, text % {"count": count})
    return redirect("core:notifications")


@login_required
@require_POST
@citizen_write("core.notifications.preferences")
def notification_preferences(request):
    try:
        services.set_notification_preferences(
            user=request.user, topic="*", channels=request.POST.getlist("channels")
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Your notification settings are saved."))
    return redirect("core:notifications")
