"""Writes of the alerts module: the manual workflow (draft → approved = published → updated → cancelled,
or rejected), the services rules call from inside the ingestion transaction, subscriptions, "are you
safe?" replies and the scheduled expiry.

Every service is keyword-only and runs in one transaction. The manual ones check the actor's permission
and audit the change; bad input raises dothi.core.errors.* before anything is written. Every published
version goes through `_publish`, which stores the immutable CAP message, its fan-out log, and enqueues
the fan-out once the transaction has committed (a rolled-back publication notifies nobody).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import string
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Max, Min
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _

from dothi.alerts import area as area_mod
from dothi.alerts import cap, tasks
from dothi.alerts.models import (
    SEVERITY_RANK,
    AlertCategory,
    AlertRule,
    CapMessage,
    Certainty,
    Fanout,
    PublicWarning,
    SafetyReply,
    Severity,
    Subscription,
    SubscriptionArea,
    Urgency,
    WarningAttachment,
)
from dothi.core import audit
from dothi.core.errors import Conflict, InvalidInput
from dothi.core.geo import locate
from dothi.core.models import AuditEvent, City, Commune, CommuneArea
from dothi.core.parsing import clean_text
from dothi.core.permissions import PLATFORM_ADMIN, require, roles_of
from dothi.core.uploads import read_limited

S = PublicWarning.Status
SEVERE = (Severity.SEVERE, Severity.EXTREME)
# Roles that act on every warning of their city; agency managers only on their agency's.
CITY_WIDE_ROLES = frozenset({"operator", "city_admin", PLATFORM_ADMIN})

ATTACHMENT_MAX_BYTES = 5 * 1024 * 1024
MAX_ATTACHMENTS = 5
MAX_EXTRA_COMMUNES = 20
REASON_MAX = 300
NOTE_MAX = 500

# The fields of a warning a person edits (warning_draft's arguments, less actor/city/attachments).
EDITABLE = (
    "category", "headline_vi", "headline_en", "description_vi", "description_en", "instruction_vi",
    "instruction_en", "urgency", "severity", "certainty", "commune_codes", "polygon", "area_desc_vi",
    "area_desc_en", "onset_at", "effective_at", "expires_at", "asks_safety",
)
_TEXT_LIMITS = {
    "headline_vi": 160, "headline_en": 160, "description_vi": 5000, "description_en": 5000,
    "instruction_vi": 3000, "instruction_en": 3000, "area_desc_vi": 300, "area_desc_en": 300,
}
# XML 1.0 cannot carry these control characters: a CAP message with one would not parse.
_XML_ILLEGAL = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


# --- Validation helpers -----------------------------------------------------------------------------


def _text(value: Any, *, field: str, required: bool = False) -> str:
    text = clean_text(value, field=field, max_len=_TEXT_LIMITS.get(field, REASON_MAX), required=required)
    return _XML_ILLEGAL.sub("", text)


def _choice(value: Any, choices, field: str) -> str:
    if value not in choices.values:
        raise InvalidInput(
            _("Unknown value for %(field)s: choose one of %(values)s.")
            % {"field": field, "values": ", ".join(choices.values)},
            field=field,
            code="invalid_choice",
        )
    return value


def _when(value: Any, *, field: str, city: City) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, str):
        parsed = parse_datetime(value.strip())
        if parsed is None:
            raise InvalidInput(_("This is not a date and time."), field=field, code="invalid_datetime")
        value = parsed
    if not isinstance(value, datetime):
        raise InvalidInput(_("This is not a date and time."), field=field, code="invalid_datetime")
    if timezone.is_naive(value):
        # A time typed without an offset is the city's local time.
        value = value.replace(tzinfo=ZoneInfo(city.time_zone or settings.TIME_ZONE))
    return value


def _category(city: City, value: Any) -> AlertCategory:
    code = value.code if isinstance(value, AlertCategory) else value
    category = None
    if isinstance(code, str) and code:
        category = AlertCategory.objects.filter(city=city, code=code, is_active=True).first()
    if category is None:
        raise InvalidInput(_("Unknown warning category."), field="category", code="category_unknown")
    return category


def default_asks_safety(category: AlertCategory, severity: str) -> bool:
    return bool(category.asks_safety) and severity in SEVERE


def _clean_warning(
    city: City, raw: dict[str, Any], *, area_changed: bool = True, now: datetime | None = None
) -> dict:
    """Every field of a warning, validated together (the cross-field checks need them all). An empty
    effective time is `now`."""
    out: dict[str, Any] = {}
    out["category"] = _category(city, raw.get("category"))
    for field in _TEXT_LIMITS:
        out[field] = _text(raw.get(field, ""), field=field, required=field == "headline_vi")
    out["urgency"] = _choice(raw.get("urgency"), Urgency, "urgency")
    out["severity"] = _choice(raw.get("severity"), Severity, "severity")
    out["certainty"] = _choice(raw.get("certainty"), Certainty, "certainty")
    out["onset_at"] = _when(raw.get("onset_at"), field="onset_at", city=city)
    effective = _when(raw.get("effective_at"), field="effective_at", city=city)
    out["effective_at"] = effective or now or timezone.now()
    out["expires_at"] = _when(raw.get("expires_at"), field="expires_at", city=city)
    if out["expires_at"] is not None and out["expires_at"] <= out["effective_at"]:
        raise InvalidInput(
            _("The expiry time must be after the time the warning takes effect."),
            field="expires_at",
            code="expires_before_effective",
        )
    asks = raw.get("asks_safety")
    if asks is None:
        asks = default_asks_safety(out["category"], out["severity"])
    elif not isinstance(asks, bool):
        raise InvalidInput(_("This must be true or false."), field="asks_safety")
    out["asks_safety"] = asks
    if area_changed:
        area = area_mod.clean_area(
            city, commune_codes=raw.get("commune_codes") or (), polygon=raw.get("polygon")
        )
        out["commune_codes"] = area.commune_codes
        out["polygon"] = area.polygon
        box = area.bbox or (None, None, None, None)
        out["min_lon"], out["min_lat"], out["max_lon"], out["max_lat"] = box
    return out


# --- Attachments --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _CleanAttachment:
    name: str
    data: bytes
    description: str
    mime_type: str
    sha256: str
    sha1: str


_SIGNATURES = (
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
)


def attachment_max_bytes() -> int:
    return int(getattr(settings, "ALERTS_ATTACHMENT_MAX_BYTES", ATTACHMENT_MAX_BYTES))


def _read_upload(item: Any) -> tuple[str, Any, str]:
    """(name, file-or-bytes, description) of the accepted shapes: an uploaded file, bytes, (name, bytes),
    (name, bytes, description), or {"file"/"content", "name", "description"}."""
    if isinstance(item, dict):
        content = item.get("file", item.get("content"))
        name = item.get("name") or getattr(content, "name", "") or ""
        return str(name), content, item.get("description") or ""
    if isinstance(item, tuple) and len(item) in (2, 3):
        return str(item[0] or ""), item[1], (item[2] if len(item) == 3 else "") or ""
    return str(getattr(item, "name", "") or ""), item, ""


def _clean_attachment(item: Any) -> _CleanAttachment:
    field = "attachments"
    limit = attachment_max_bytes()
    too_big = InvalidInput(
        _("Each attachment must be at most %(mb)s MB.") % {"mb": round(limit / (1024 * 1024), 1)},
        field=field,
        code="file_too_large",
    )
    name, content, description = _read_upload(item)
    data = read_limited(content, limit=limit, field=field, too_big=too_big)
    kind = next(((mime, ext) for sig, mime, ext in _SIGNATURES if data.startswith(sig)), None)
    if kind is None:
        raise InvalidInput(
            _("Attachments must be PDF documents or PNG or JPEG images."), field=field, code="file_type"
        )
    mime, ext = kind
    damaged = InvalidInput(_("The file is damaged."), field=field, code="file_invalid")
    if mime == "application/pdf":
        if b"%%EOF" not in data[-2048:]:
            raise damaged
    else:
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(io.BytesIO(data)) as probe:
                probe.verify()
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
            raise damaged from None
    stem = name.replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0]
    base = (get_valid_filename(stem) if stem.strip() else "")[:60] or "attachment"
    description = _text(description or name or _("Attachment"), field=field)[:200] or _("Attachment")
    return _CleanAttachment(
        name=f"{base}.{ext}",
        data=data,
        description=description,
        mime_type=mime,
        sha256=hashlib.sha256(data).hexdigest(),
        sha1=hashlib.sha1(data).hexdigest(),  # noqa: S324 - CAP's `digest` is defined as SHA-1
    )


def _clean_attachments(items: Any, *, existing: int = 0) -> list[_CleanAttachment]:
    if not items:
        return []
    if not isinstance(items, list | tuple):
        items = [items]
    if existing + len(items) > MAX_ATTACHMENTS:
        raise InvalidInput(
            _("A warning can have at most %(n)d attachments.") % {"n": MAX_ATTACHMENTS},
            field="attachments",
            code="too_many_files",
        )
    return [_clean_attachment(item) for item in items]


def _store_attachments(warning: PublicWarning, cleaned: list[_CleanAttachment]) -> list[WarningAttachment]:
    stored = []
    for item in cleaned:
        attachment = WarningAttachment(
            warning=warning,
            description=item.description,
            mime_type=item.mime_type,
            size=len(item.data),
            sha256=item.sha256,
            sha1=item.sha1,
        )
        attachment.file.save(item.name, ContentFile(item.data), save=False)
        attachment.save()
        stored.append(attachment)
    return stored


# --- Who may act on a warning -------------------------------------------------------------------------


def _organisations(actor, city: City) -> set[int]:
    return set(
        actor.memberships.filter(city=city, organisation__isnull=False)
        .values_list("organisation_id", flat=True)
    )


def _city_wide(actor, city: City) -> bool:
    return bool(roles_of(actor, city) & CITY_WIDE_ROLES)


def _require_on(actor, operation: str, warning: PublicWarning) -> None:
    """The operation in the warning's city and, for agency people, on their own agency's warnings."""
    require(actor, operation, warning.city)
    if _city_wide(actor, warning.city):
        return
    if warning.issuer_id is not None and warning.issuer_id not in _organisations(actor, warning.city):
        raise PermissionDenied(_("This warning belongs to another agency."))


def _lock(warning: PublicWarning) -> PublicWarning:
    """Lock the row and read it afresh: two approvers or a double click cannot both act on it."""
    PublicWarning.objects.select_for_update().filter(pk=warning.pk).values_list("pk", flat=True).first()
    warning.refresh_from_db()
    return warning


def _record(actor, warning: PublicWarning, summary: str, *, action=AuditEvent.Action.UPDATE, **details):
    audit.record(
        actor=actor, action=action, obj=warning, city=warning.city, summary=summary[:300], details=details
    )


# --- Publishing -------------------------------------------------------------------------------------


def _publish(warning: PublicWarning, msg_type: str, now: datetime) -> CapMessage:
    """Store the next version of the warning as a CAP message with its fan-out log, and start the
    fan-out when the transaction commits."""
    city = warning.city
    sent_at = now.replace(microsecond=0)  # CAP has second precision: the stored time is the sent one
    references = ""
    if warning.version:
        earlier = CapMessage.objects.filter(warning=warning).order_by("version")
        earlier = earlier.only("sender", "identifier", "sent_at")
        references = " ".join(cap.reference_of(m, city) for m in earlier)
    version = warning.version + 1
    warning.version = version
    PublicWarning.objects.filter(pk=warning.pk).update(version=version)
    message = CapMessage(
        city=city,
        warning=warning,
        version=version,
        msg_type=msg_type,
        identifier=cap.identifier_for(city, warning, version),
        sender=cap.sender_for(city),
        sent_at=sent_at,
        references=references,
    )
    message.xml = cap.render(message)
    message.save()
    fanout = Fanout.objects.create(city=city, message=message, created_at=now)
    fanout_id = fanout.pk
    transaction.on_commit(lambda: tasks.fanout.enqueue(fanout_id))
    return message


# --- The manual workflow ------------------------------------------------------------------------------


def _issuer_for(actor, city: City):
    from dothi.identity.models import Membership

    membership = (
        Membership.objects.filter(user=actor, city=city, organisation__isnull=False)
        .select_related("organisation")
        .order_by("pk")
        .first()
    ) if getattr(actor, "is_authenticated", False) else None
    return membership.organisation if membership else None


@transaction.atomic
def warning_draft(
    *,
    actor,
    city: City,
    category: str,
    headline_vi: str,
    headline_en: str = "",
    description_vi: str = "",
    description_en: str = "",
    instruction_vi: str = "",
    instruction_en: str = "",
    urgency: str,
    severity: str,
    certainty: str,
    commune_codes=(),
    polygon=None,
    area_desc_vi: str = "",
    area_desc_en: str = "",
    onset_at=None,
    effective_at=None,
    expires_at=None,
    asks_safety: bool | None = None,
    attachments=(),
) -> PublicWarning:
    """A manual warning or news item, as a draft to be approved by someone else."""
    require(actor, "alerts.draft", city)
    raw = {
        "category": category, "headline_vi": headline_vi, "headline_en": headline_en,
        "description_vi": description_vi, "description_en": description_en,
        "instruction_vi": instruction_vi, "instruction_en": instruction_en, "urgency": urgency,
        "severity": severity, "certainty": certainty, "commune_codes": commune_codes, "polygon": polygon,
        "area_desc_vi": area_desc_vi, "area_desc_en": area_desc_en, "onset_at": onset_at,
        "effective_at": effective_at, "expires_at": expires_at, "asks_safety": asks_safety,
    }
    now = timezone.now()
    # Without an effective time the draft takes effect when it is approved: until then it is the very
    # instant of `created_at`, which warning_approve recognises (no extra column for "not given").
    values = _clean_warning(city, raw, now=now)
    files = _clean_attachments(attachments)
    warning = PublicWarning.objects.create(
        created_at=now,
        city=city,
        source=PublicWarning.Source.MANUAL,
        status=S.DRAFT,
        issuer=_issuer_for(actor, city),
        created_by=actor,
        **values,
    )
    _store_attachments(warning, files)
    _record(
        actor, warning, f"draft warning ({warning.category.code}): {warning.headline_vi}",
        action=AuditEvent.Action.CREATE, attachments=len(files), communes=len(warning.commune_codes),
    )
    return warning


def _raw_of(warning: PublicWarning) -> dict[str, Any]:
    raw = {f: getattr(warning, f) for f in EDITABLE if f not in ("category",)}
    raw["category"] = warning.category
    return raw


def _apply_changes(actor, warning: PublicWarning, fields: dict[str, Any]) -> tuple[list[str], int]:
    """Validate `fields` against the warning's current values and save; returns the names that changed
    and the number of attachments added. Nothing is written when anything is invalid."""
    unknown = set(fields) - set(EDITABLE) - {"attachments", "remove_attachments"}
    if unknown:
        name = sorted(unknown)[0]
        raise InvalidInput(_("This field cannot be changed."), field=name, code="unknown_field")
    city = warning.city
    raw = _raw_of(warning)
    raw.update({k: v for k, v in fields.items() if k in EDITABLE})
    area_changed = "commune_codes" in fields or "polygon" in fields
    if area_changed and "polygon" in fields and "commune_codes" not in fields and warning.polygon:
        # The stored codes of a polygon area were derived from it: a new polygon derives its own.
        raw["commune_codes"] = ()
    if "asks_safety" not in fields and ("severity" in fields or "category" in fields):
        raw["asks_safety"] = None  # follow the new severity or category
    # An emptied effective time of a draft is again "when approved" (see warning_draft).
    empty_is = warning.created_at if warning.status == S.DRAFT else None
    values = _clean_warning(city, raw, area_changed=area_changed, now=empty_is)
    remove_ids = fields.get("remove_attachments") or ()
    if not isinstance(remove_ids, list | tuple | set):
        raise InvalidInput(_("Attachments to remove must be a list."), field="remove_attachments")
    removing = list(warning.attachments.filter(pk__in=[i for i in remove_ids if isinstance(i, int)]))
    existing = warning.attachments.count() - len(removing)
    files = _clean_attachments(fields.get("attachments"), existing=existing)
    changed = []
    for name, value in values.items():
        current = warning.category if name == "category" else getattr(warning, name)
        if current != value:
            setattr(warning, name, value)
            changed.append(name)
    for attachment in removing:
        attachment.file.delete(save=False)
        attachment.delete()
    if removing:
        changed.append("attachments")
    _store_attachments(warning, files)
    if files and "attachments" not in changed:
        changed.append("attachments")
    if changed:
        warning.save()
    return changed, len(files)


@transaction.atomic
def warning_edit(*, actor, warning: PublicWarning, **fields) -> PublicWarning:
    """Change a draft (its author, or someone who may approve it). Published warnings change through
    warning_update, which publishes a new version."""
    require(actor, "alerts.draft", warning.city)
    _lock(warning)
    if warning.status != S.DRAFT:
        raise Conflict(_("Only a draft can be edited; publish an update instead."), code="not_draft")
    if warning.created_by_id != actor.pk:
        _require_on(actor, "alerts.approve", warning)
    changed, added = _apply_changes(actor, warning, fields)
    if changed:
        _record(actor, warning, f"edit draft: {', '.join(changed)}", fields=changed, attachments_added=added)
    return warning


@transaction.atomic
def warning_approve(*, actor, warning: PublicWarning) -> CapMessage:
    """Publish a draft (four eyes: not by its author): the first CAP message, an Alert."""
    _require_on(actor, "alerts.approve", warning)
    _lock(warning)
    if warning.status != S.DRAFT:
        raise Conflict(_("Only a draft can be approved."), code="not_draft")
    if warning.created_by_id is not None and warning.created_by_id == actor.pk:
        raise PermissionDenied(_("A warning must be approved by someone other than its author."))
    now = timezone.now()
    if warning.expires_at is not None and warning.expires_at <= now:
        raise InvalidInput(
            _("This draft has already expired: change its expiry time first."),
            field="expires_at",
            code="expired",
        )
    if not warning.category.is_active:
        raise InvalidInput(_("Unknown warning category."), field="category", code="category_unknown")
    if warning.effective_at == warning.created_at:
        warning.effective_at = now  # drafted without an effective time: effective once approved
    warning.status = S.PUBLISHED
    warning.approved_by = actor
    warning.published_at = now
    warning.save(update_fields=["status", "approved_by", "published_at", "effective_at", "updated_at"])
    message = _publish(warning, CapMessage.MsgType.ALERT, now)
    _record(actor, warning, f"approved and published {message.identifier}", version=message.version)
    return message


@transaction.atomic
def warning_reject(*, actor, warning: PublicWarning, reason: str) -> PublicWarning:
    """Send a draft back: it is not published and stays as rejected, with the reason."""
    _require_on(actor, "alerts.approve", warning)
    reason = _XML_ILLEGAL.sub("", clean_text(
        reason, field="reason", max_len=REASON_MAX, required=True, message=_("Say why the draft is rejected.")
    ))
    _lock(warning)
    if warning.status != S.DRAFT:
        raise Conflict(_("Only a draft can be rejected."), code="not_draft")
    warning.status = S.REJECTED
    warning.reason = reason
    warning.save(update_fields=["status", "reason", "updated_at"])
    _record(actor, warning, f"rejected: {reason}", reason=reason)
    return warning


def _require_published(warning: PublicWarning) -> None:
    if warning.status != S.PUBLISHED:
        raise Conflict(_("This warning is not published (it is %(status)s).") % {
            "status": warning.get_status_display()
        }, code="not_published")


@transaction.atomic
def warning_update(*, actor, warning: PublicWarning, **fields) -> CapMessage:
    """Change a published warning: a new version, published as a CAP Update referencing the earlier
    messages."""
    _require_on(actor, "alerts.approve", warning)
    _lock(warning)
    _require_published(warning)
    changed, added = _apply_changes(actor, warning, fields)
    if not changed:
        raise InvalidInput(_("Nothing was changed."), code="unchanged")
    now = timezone.now()
    if warning.expires_at is not None and warning.expires_at <= now:
        raise InvalidInput(
            _("The expiry time must be in the future; cancel the warning to end it now."),
            field="expires_at",
            code="expired",
        )
    message = _publish(warning, CapMessage.MsgType.UPDATE, now)
    _record(actor, warning, f"update {message.identifier}: {', '.join(changed)}", fields=changed,
            version=message.version, attachments_added=added)
    return message


@transaction.atomic
def warning_cancel(*, actor, warning: PublicWarning, reason: str) -> CapMessage:
    """Withdraw a published warning (or end it by hand): a CAP Cancel message."""
    _require_on(actor, "alerts.approve", warning)
    reason = _XML_ILLEGAL.sub("", clean_text(
        reason, field="reason", max_len=REASON_MAX, required=True,
        message=_("Say why the warning is cancelled."),
    ))
    _lock(warning)
    _require_published(warning)
    now = timezone.now()
    warning.status = S.CANCELLED
    warning.reason = reason
    warning.ended_at = now
    warning.save(update_fields=["status", "reason", "ended_at", "updated_at"])
    message = _publish(warning, CapMessage.MsgType.CANCEL, now)
    _record(actor, warning, f"cancelled {message.identifier}: {reason}", reason=reason,
            version=message.version)
    return message


# --- For rules (no actor: called inside the ingestion transaction) -----------------------------------


class _Blank(dict):
    def __missing__(self, key):
        return ""


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{round(value, 2):g}"
    return "" if value is None else str(value)


def _fill(template: str, values: dict[str, str], limit: int) -> str:
    try:
        text = string.Formatter().vformat(template, (), _Blank(values))
    except (ValueError, IndexError, KeyError, AttributeError):
        text = template  # a broken template is shown as written rather than failing the ingestion
    return _XML_ILLEGAL.sub("", text)[:limit]


def _rule_texts(rule: AlertRule, severity: str, trigger: dict, city: City) -> dict[str, str]:
    values = {
        "value": _fmt(trigger.get("value")),
        "unit": _fmt(trigger.get("unit")),
        "sensor": _fmt(trigger.get("sensor") or trigger.get("sensor_code")),
        "threshold": _fmt(trigger.get("threshold")),
        "level": _fmt(trigger.get("level") or severity),
    }
    when = ""
    raw_time = trigger.get("time")
    at = parse_datetime(raw_time) if isinstance(raw_time, str) else raw_time
    if isinstance(at, datetime):
        when = at.astimezone(ZoneInfo(city.time_zone or settings.TIME_ZONE)).strftime("%H:%M %d/%m/%Y")
    measured_vi = f"Cảm biến {values['sensor']} đo được {values['value']} {values['unit']}".strip()
    measured_en = f"Sensor {values['sensor']} measured {values['value']} {values['unit']}".strip()
    if when:
        measured_vi += f" lúc {when}"
        measured_en += f" at {when}"
    if values["threshold"]:
        measured_vi += f" (ngưỡng {values['threshold']} {values['unit']})".replace(" )", ")")
        measured_en += f" (threshold {values['threshold']} {values['unit']})".replace(" )", ")")
    return {
        "headline_vi": _fill(rule.headline_vi, values, 160) or rule.name[:160],
        "headline_en": _fill(rule.headline_en, values, 160),
        "instruction_vi": _fill(rule.instruction_vi, values, 3000),
        "instruction_en": _fill(rule.instruction_en, values, 3000),
        "description_vi": measured_vi + ".",
        "description_en": (measured_en + ".") if rule.headline_en else "",
    }


def _rule_area(rule: AlertRule, city: City) -> dict[str, Any]:
    codes = list(rule.commune_codes or [])
    polygon = rule.polygon or None
    if polygon:
        geom = area_mod.parse_polygon(polygon)
        if not codes:
            codes = area_mod.communes_of_polygon(city, geom)
        box = geom.bounds
    elif codes:
        agg = CommuneArea.objects.filter(city=city, commune_id__in=codes).aggregate(
            a=Min("min_lon"), b=Min("min_lat"), c=Max("max_lon"), d=Max("max_lat")
        )
        box = (agg["a"], agg["b"], agg["c"], agg["d"])
    else:
        # No area: the whole city.
        codes = area_mod.city_commune_codes(city)
        box = city.bbox or (None, None, None, None)
    return {
        "commune_codes": sorted(codes),
        "polygon": polygon,
        "min_lon": box[0], "min_lat": box[1], "max_lon": box[2], "max_lat": box[3],
        "area_desc_vi": rule.area_desc_vi,
        "area_desc_en": rule.area_desc_en,
    }


def _json(value: Any) -> Any:
    return json.loads(json.dumps(value or {}, cls=DjangoJSONEncoder))


def rule_warning_raise(*, rule: AlertRule, severity: str, trigger: dict, triggered_at: datetime,
                       now: datetime) -> PublicWarning:
    """A rule's breach: a new warning, published at once (an Alert). No actor and no permission check:
    the rule was configured by someone allowed to."""
    _choice(severity, Severity, "severity")
    city = rule.city
    category = rule.category
    trigger = _json(trigger)
    warning = PublicWarning.objects.create(
        city=city,
        category=category,
        source=PublicWarning.Source.RULE,
        status=S.PUBLISHED,
        rule=rule,
        issuer_id=rule.issuer_id,
        urgency=rule.urgency,
        severity=severity,
        certainty=rule.certainty,
        onset_at=triggered_at,
        effective_at=now,
        expires_at=None,  # until the all-clear (rule_warning_end)
        asks_safety=default_asks_safety(category, severity),
        trigger=trigger,
        triggered_at=triggered_at,
        created_at=now,
        published_at=now,
        **_rule_texts(rule, severity, trigger, city),
        **_rule_area(rule, city),
    )
    message = _publish(warning, CapMessage.MsgType.ALERT, now)
    _record(None, warning, f"rule {rule.pk} raised {message.identifier}", action=AuditEvent.Action.CREATE,
            rule=rule.pk, severity=severity)
    return warning


def rule_warning_escalate(
    *, warning: PublicWarning, severity: str, trigger: dict, now: datetime
) -> CapMessage:
    """The worst level of a rule's sensors changed (up or down): an Update with the new severity."""
    _choice(severity, Severity, "severity")
    _require_published(warning)
    previous = warning.severity
    trigger = _json(trigger)
    warning.severity = severity
    warning.trigger = trigger
    warning.asks_safety = default_asks_safety(warning.category, severity)
    fields = ["severity", "trigger", "asks_safety", "updated_at"]
    if warning.rule is not None:
        for name, value in _rule_texts(warning.rule, severity, trigger, warning.city).items():
            setattr(warning, name, value)
            fields.append(name)
    warning.save(update_fields=fields)
    message = _publish(warning, CapMessage.MsgType.UPDATE, now)
    _record(None, warning, f"rule severity {previous} -> {severity}: {message.identifier}",
            previous=previous, severity=severity)
    return message


def rule_warning_end(*, warning: PublicWarning, now: datetime) -> CapMessage:
    """Every sensor of the rule is back below its levels: the all-clear, a Cancel message."""
    _require_published(warning)
    warning.status = S.ENDED
    warning.ended_at = now
    warning.save(update_fields=["status", "ended_at", "updated_at"])
    message = _publish(warning, CapMessage.MsgType.CANCEL, now)
    _record(None, warning, f"all clear: {message.identifier}")
    return message


# --- Subscriptions and replies -------------------------------------------------------------------------


def _commune(city: City, value: Any, field: str) -> Commune | None:
    if value in (None, ""):
        return None
    code = value.code if isinstance(value, Commune) else value
    commune = None
    if isinstance(code, str | int) and not isinstance(code, bool):
        commune = Commune.objects.filter(province_id=city.province_code, code=str(code).strip()).first()
    if commune is None:
        raise InvalidInput(
            _("Unknown commune of %(city)s.") % {"city": city.name}, field=field, code="commune_unknown"
        )
    return commune


def _code_list(value: Any, field: str) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    if not isinstance(value, list | tuple | set | frozenset):
        raise InvalidInput(_("This must be a list of codes."), field=field)
    codes = []
    for item in value:
        code = getattr(item, "code", item)
        if not isinstance(code, str | int) or isinstance(code, bool):
            raise InvalidInput(_("This must be a list of codes."), field=field)
        code = str(code).strip()
        if code and code not in codes:
            codes.append(code)
    return codes


@transaction.atomic
def subscription_set(*, actor, city: City, home_commune=None, work_commune=None, extra_communes=(),
                     categories=(), min_severity: str = "Unknown") -> Subscription:
    """Choose where (home, work, other communes) and what (categories, lowest severity) to be warned
    about in `city`. Replaces the previous choice."""
    require(actor, "alerts.subscribe", city)
    home = _commune(city, home_commune, "home_commune")
    work = _commune(city, work_commune, "work_commune")
    extra_codes = _code_list(extra_communes, "extra_communes")
    if len(extra_codes) > MAX_EXTRA_COMMUNES:
        raise InvalidInput(
            _("Choose at most %(n)d other communes.") % {"n": MAX_EXTRA_COMMUNES}, field="extra_communes"
        )
    known = set(
        Commune.objects.filter(province_id=city.province_code, code__in=extra_codes)
        .values_list("code", flat=True)
    )
    if len(known) != len(extra_codes):
        raise InvalidInput(
            _("Unknown commune of %(city)s.") % {"city": city.name},
            field="extra_communes",
            code="commune_unknown",
        )
    category_codes = _code_list(categories, "categories")
    found = set(
        AlertCategory.objects.filter(city=city, is_active=True, code__in=category_codes)
        .values_list("code", flat=True)
    )
    if len(found) != len(category_codes):
        raise InvalidInput(_("Unknown warning category."), field="categories", code="category_unknown")
    min_severity = _choice(min_severity or Severity.UNKNOWN, Severity, "min_severity")
    values = {
        "home_commune": home,
        "work_commune": work,
        "extra_communes": sorted(extra_codes),
        "categories": f",{','.join(sorted(category_codes))}," if category_codes else "",
        "min_severity": min_severity,
        "min_rank": SEVERITY_RANK[min_severity],
        "is_active": True,
    }
    subscription, created = Subscription.objects.update_or_create(
        city=city, user=actor, defaults=values
    )
    wanted = {c.code for c in (home, work) if c is not None} | set(extra_codes)
    SubscriptionArea.objects.filter(subscription=subscription).delete()
    SubscriptionArea.objects.bulk_create(
        [SubscriptionArea(city=city, subscription=subscription, commune_code=code) for code in sorted(wanted)]
    )
    audit.record(
        actor=actor,
        action=AuditEvent.Action.CREATE if created else AuditEvent.Action.UPDATE,
        obj=subscription,
        city=city,
        summary="warning subscription",
        details={
            "communes": sorted(wanted), "categories": sorted(category_codes), "min_severity": min_severity
        },
    )
    return subscription


@transaction.atomic
def safety_reply(*, actor, warning: PublicWarning, status: str, note: str = "", lat=None,
                 lon=None) -> SafetyReply:
    """A citizen's answer to a warning asking "are you safe?"; the newest answer replaces the old."""
    city = warning.city
    require(actor, "alerts.subscribe", city)
    if not (warning.asks_safety and warning.is_active()):
        raise Conflict(_("This warning does not ask whether you are safe."), code="no_safety_question")
    status = _choice(status, SafetyReply.Status, "status")
    note = _XML_ILLEGAL.sub("", clean_text(note, field="note", max_len=NOTE_MAX))
    commune = None
    if lat in (None, "") and lon in (None, ""):
        lat = lon = None
        subscription = (
            Subscription.objects.filter(city=city, user=actor).select_related("home_commune").first()
        )
        commune = subscription.home_commune if subscription else None
    elif lat in (None, "") or lon in (None, ""):
        raise InvalidInput(_("Give both latitude and longitude, or neither."), field="location")
    else:
        commune = locate(city, lon, lat)  # OutsideCity (field "location") when not in the city
        lat, lon = float(lat), float(lon)
    reply, created = SafetyReply.objects.update_or_create(
        warning=warning,
        user=actor,
        defaults={
            "city": city, "status": status, "note": note, "lat": lat, "lon": lon, "commune": commune,
            # A new answer needs looking at again.
            "handled_at": None, "handled_by": None,
        },
    )
    audit.record(
        actor=actor,
        action=AuditEvent.Action.CREATE if created else AuditEvent.Action.UPDATE,
        obj=reply,
        city=city,
        summary=f"safety reply {status} to {warning.uid}",
        details={"status": status, "commune": commune.code if commune else None},
    )
    return reply


@transaction.atomic
def safety_reply_handle(*, actor, reply: SafetyReply) -> SafetyReply:
    """The control centre took care of a reply (called back, sent help)."""
    require(actor, "alerts.read_replies", reply.city)
    locked = SafetyReply.objects.select_for_update().get(pk=reply.pk)
    if locked.handled_at is not None:
        raise Conflict(_("This reply has already been handled."), code="already_handled")
    reply.handled_at = timezone.now()
    reply.handled_by = actor
    reply.save(update_fields=["handled_at", "handled_by", "updated_at"])
    audit.record(actor=actor, action=AuditEvent.Action.UPDATE, obj=reply, city=reply.city,
                 summary=f"safety reply handled ({reply.status})")
    return reply


@transaction.atomic
def expire_warnings(now: datetime | None = None) -> int:
    """Scheduled: published warnings past their expiry become ended. No message is sent: every CAP
    message already carries its `expires`, so receivers drop it by themselves."""
    now = now or timezone.now()
    due = list(
        # Only the warnings' rows are locked (not their cities'); one being updated right now is taken
        # by the next run.
        PublicWarning.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(status=S.PUBLISHED, expires_at__isnull=False, expires_at__lte=now)
    )
    for warning in due:
        warning.status = S.ENDED
        warning.ended_at = warning.expires_at
        warning.save(update_fields=["status", "ended_at", "updated_at"])
        _record(None, warning, "expired", expires_at=warning.expires_at.isoformat())
    return len(due)


def safety_reply_points_assign(*, city: City, changes: list[tuple[int, str]]) -> int:
    """Write the communes core.geo.reassign_points found for SafetyReply rows, in bulk (no other column)."""
    from dothi.alerts.models import SafetyReply
    from dothi.core.geo import write_communes

    return write_communes(SafetyReply, city=city, changes=changes)
