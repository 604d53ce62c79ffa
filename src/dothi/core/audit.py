"""The one helper that writes the audit trail (append-only)."""

from __future__ import annotations

from typing import Any

from django.db import models as dj_models

from dothi.core.models import AuditEvent, City


def _client_ip(request) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def record(
    *,
    actor,
    action: str,
    obj: dj_models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    city: City | None = None,
    summary: str = "",
    details: dict[str, Any] | None = None,
    request=None,
) -> AuditEvent:
    """Record who did what to which object, in which city, when and from where."""
    event = build(actor=actor, action=action, obj=obj, object_type=object_type, object_id=object_id,
                  city=city, summary=summary, details=details, request=request)
    event.save(force_insert=True)
    return event


def build(
    *,
    actor,
    action: str,
    obj: dj_models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    city: City | None = None,
    summary: str = "",
    details: dict[str, Any] | None = None,
    request=None,
) -> AuditEvent:
    """The audit record `record` writes, unsaved: for a service that inserts it together with the row it
    is about (`core.inserts.insert_family`, the link being "object_id" cast as text)."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        city = city or getattr(obj, "city", None)
    if city is None and request is not None:
        city = getattr(request, "city", None)
    authenticated = actor is not None and getattr(actor, "is_authenticated", False)
    return AuditEvent(
        city=city,
        actor=actor if authenticated else None,
        actor_label=(actor.get_username() if authenticated else "anonymous")[:150],
        action=action,
        object_type=object_type[:100],
        object_id=str(object_id)[:64],
        summary=summary[:300],
        details=details or {},
        ip=_client_ip(request),
        user_agent=(request.META.get("HTTP_USER_AGENT", "") if request is not None else "")[:300],
    )


def read_personal(*, actor, subject, city: City | None, request=None, fields: list[str] | None = None):
    """Staff looked at a person's data: always leaves a trace."""
    return record(
        actor=actor,
        action=AuditEvent.Action.READ_PERSONAL,
        obj=subject,
        city=city,
        details={"fields": fields or []},
        request=request,
    )
