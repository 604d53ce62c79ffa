from __future__ import annotations

from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


def ratelimited(request, exception=None):
    message = _("Too many requests. Please wait a little and try again.")
    if request.path.startswith("/api/") or request.headers.get("Accept", "").startswith("application/json"):
        return JsonResponse({"code": "rate_limited", "message": message}, status=429)
    return render(request, "web/error.html", {"message": message, "status": 429}, status=429)
