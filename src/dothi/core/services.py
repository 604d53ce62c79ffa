"""Writes of the shared kernel: notifications, feedback, organisations and agreements.

Every service is keyword-only, runs in one transaction, checks the actor's permission when a person
acts, and raises dothi.core.errors.* for bad input so nothing is stored.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dothi.core import audit
from dothi.core.errors import Conflict, InvalidInput, NotFound
from dothi.core.manifests import registry
from dothi.core.models import (
    Agreement,
    AuditEvent,
    City,
    Delivery,
    Feedback,
    Notification,
    NotificationPreference,
    Organisation,
)
from dothi.core.notifications import DEFAULT_CHANNELS, INBOX, channels
from dothi.core.permissions import require

_TOPIC = re.compile(r"^(\*|[a-z][a-z0-9_.-]{0,59})$")

# --- Notifications -----------------------------------------------------------------------------


def _channels_for(user, topic: str) -> list[str]:
    """The person's channels for a topic: the topic's preference, else their "*" preference, else inbox."""
    rows = NotificationPreference.objects.filter(user=user, topic__in=[topic, "*"])
    prefs = {p.topic: p.channels for p in rows}
    chosen = prefs.get(topic, prefs.get("*", DEFAULT_CHANNELS))
    known = set(channels.names())
    # A channel removed from the deployment since the person chose it is ignored, not an error.
    return [c for c in dict.fromkeys(chosen) if c in known]


@transaction.atomic
def notify(*, recipient, city: City, topic: str, title: str, body: str = "", url: str = "") -> Notification:
    """Notify a person: always an in-app inbox entry, plus one queued delivery per extra channel the
    person chose for this topic. Deliveries run in the background (dothi.core.tasks.deliver)."""
    from dothi.core.tasks import deliver

    if not _TOPIC.match(topic) or topic == "*":
        raise InvalidInput(_("Unknown notification topic."), field="topic")
    if not title.strip():
        raise InvalidInput(_("A notification needs a title."), field="title")
    notification = Notification.objects.create(
        city=city, recipient=recipient, topic=topic, title=title[:200], body=body, url=url[:300]
    )
    for channel in _channels_for(recipient, topic):
        if channel == INBOX:
            continue  # the Notification row is the inbox delivery
        delivery = Delivery.objects.create(notification=notification, channel=channel)
        # The database backend stores the task in this same transaction: the delivery and its task
        # commit together, so a crash can never leave a queued delivery that no worker will pick up.
        deliver.enqueue(delivery.pk)
    return notification


@transaction.atomic
def set_notification_preferences(*, user, topic: str, channels: list[str]) -> NotificationPreference:
    """Choose the channels for a topic ("*" for every topic without its own choice).

    The inbox is always included: a person cannot lose the in-app record of a notification."""
    from dothi.core.notifications import channels as registry_

    if not isinstance(topic, str) or not _TOPIC.match(topic):
        raise InvalidInput(_("Unknown notification topic."), field="topic")
    if not isinstance(channels, list | tuple) or not all(isinstance(c, str) for c in channels):
        raise InvalidInput(_("Channels must be a list of names."), field="channels")
    known = set(registry_.names())
    unknown = [c for c in channels if c not in known]
    if unknown:
        raise InvalidInput(
            _("Unknown notification channel: %(names)s.") % {"names": ", ".join(unknown[:5])[:100]},
            field="channels",
        )
    chosen = list(dict.fromkeys([INBOX, *channels]))
    pref, _created = NotificationPreference.objects.update_or_create(
        user=user, topic=topic, defaults={"channels": chosen}
    )
    audit.record(
        actor=user, action=AuditEvent.Action.UPDATE, obj=pref, city=getattr(user, "home_city", None),
        summary=f"notification channels for {topic}", details={"channels": chosen},
    )
    return pref


@transaction.atomic
def notification_mark_read(*, user, notification_id: int) -> Notification:
    """Mark one of the person's own notifications read; another person's is "not found"."""
    notification = Notification.objects.filter(pk=notification_id, recipient=user).first()
    if notification is None:
        raise NotFound(_("Not found."))
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


@transaction.atomic
def notification_mark_all_read(*, user, city: City | None = None) -> int:
    """Mark all the person's unread notifications read (in one city if given); returns how many."""
    qs = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if city is not None:
        qs = qs.filter(city=city)
    return qs.update(read_at=timezone.now())


# --- Feedback ----------------------------------------------------------------------------------

COMMENT_MAX = 2000


@transaction.atomic
def feedback_give(
    *, author, city: City, subject_type: str, subject_id: str, rating: int, comment: str = ""
) -> Feedback:
    """Rate a service interaction 1–5 with an optional comment; once per person per subject."""
    require(author, "core.feedback.give", city)
    if subject_type not in registry.feedback_subjects():
        raise InvalidInput(_("This cannot be rated."), field="subject_type")
    subject_id = str(subject_id).strip()
    if not subject_id or len(subject_id) > 64:
        raise InvalidInput(_("Say what you are rating."), field="subject_id")
    validator = registry.feedback_validator(subject_type)
    if validator is not None:  # the subject's module decides who may rate what, and when
        validator(author=author, city=city, subject_id=subject_id)
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise InvalidInput(_("The rating must be a whole number from 1 to 5."), field="rating")
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX:
        raise InvalidInput(
            _("The comment must be at most %(max)d characters.") % {"max": COMMENT_MAX}, field="comment"
        )
    duplicate = _("You have already rated this.")
    if Feedback.objects.filter(author=author, subject_type=subject_type, subject_id=subject_id).exists():
        raise Conflict(duplicate)
    try:
        with transaction.atomic():  # a concurrent duplicate hits the unique constraint instead
            feedback = Feedback.objects.create(
                city=city, author=author, subject_type=subject_type, subject_id=subject_id,
                rating=rating, comment=comment,
            )
    except IntegrityError:
        raise Conflict(duplicate)
    audit.record(actor=author, action=AuditEvent.Action.CREATE, obj=feedback, details={"rating": rating})
    return feedback


# --- Organisations and agreements --------------------------------------------------------------

_ORG_FIELDS = {
    "kind", "agency_type", "name_vi", "name_en", "email", "phone", "website", "is_active", "commune",
}


def _clean_organisation(org: Organisation) -> None:
    """Model validation turned into one clear domain error (the first problem found)."""
    from django.core.exceptions import ValidationError

    try:
        org.full_clean(exclude=["city"], validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise InvalidInput(f"{field}: {messages[0]}", field=field)
    if org.kind != Organisation.Kind.AGENCY and org.agency_type:
        raise InvalidInput(_("Only agencies have an agency type."), field="agency_type")


@transaction.atomic
def organisation_create(*, actor, city: City, code: str, name_vi: str, **fields: Any) -> Organisation:
    """Register an agency, enterprise, NGO, university… in the city (code unique per city)."""
    require(actor, "core.organisation.manage", city)
    extra = set(fields) - _ORG_FIELDS
    if extra:
        raise InvalidInput(_("Unknown field: %(name)s.") % {"name": sorted(extra)[0]}, field=sorted(extra)[0])
    org = Organisation(city=city, code=code, name_vi=name_vi, **fields)
    _clean_organisation(org)
    if Organisation.objects.filter(city=city, code=code).exists():
        raise Conflict(_("An organisation with this code already exists."), field="code")
    org.save()
    audit.record(actor=actor, action=AuditEvent.Action.CREATE, obj=org, summary=org.name_vi)
    return org


@transaction.atomic
def organisation_update(*, actor, organisation: Organisation, **fields: Any) -> Organisation:
    require(actor, "core.organisation.manage", organisation.city)
    extra = set(fields) - _ORG_FIELDS
    if extra:
        raise InvalidInput(_("Unknown field: %(name)s.") % {"name": sorted(extra)[0]}, field=sorted(extra)[0])
    org = Organisation.objects.select_for_update().get(pk=organisation.pk)
    changed = {k: v for k, v in fields.items() if getattr(org, k) != v}
    for key, value in changed.items():
        setattr(org, key, value)
    _clean_organisation(org)
    org.save()
    audit.record(
        actor=actor, action=AuditEvent.Action.UPDATE, obj=org,
        details={"changed": sorted(changed)},
    )
    return org


@transaction.atomic
def agreement_create(
    *,
    actor,
    city: City,
    organisation: Organisation,
    kind: str,
    title: str,
    starts_on: date,
    ends_on: date | None = None,
    scope: str = "",
    shared_with: list[Organisation] | tuple[Organisation, ...] = (),
) -> Agreement:
    """Record an agreement between the city and an organisation (data sharing, PPP, MoU, …)."""
    require(actor, "core.agreement.manage", city)
    if organisation.city_id != city.pk or any(o.city_id != city.pk for o in shared_with):
        raise InvalidInput(_("The organisation belongs to another city."), field="organisation")
    if kind not in Agreement.Kind.values:
        raise InvalidInput(_("Unknown agreement type."), field="kind")
    title = (title or "").strip()
    if not title or len(title) > 200:
        raise InvalidInput(_("The title must be 1 to 200 characters."), field="title")
    if not isinstance(starts_on, date) or (ends_on is not None and not isinstance(ends_on, date)):
        raise InvalidInput(_("Dates must be calendar dates."), field="starts_on")
    if ends_on is not None and ends_on < starts_on:
        raise InvalidInput(_("The end date must not be before the start date."), field="ends_on")
    agreement = Agreement.objects.create(
        city=city, organisation=organisation, kind=kind, title=title, scope=scope or "",
        starts_on=starts_on, ends_on=ends_on,
    )
    if shared_with:
        agreement.shared_with.set(shared_with)
    audit.record(
        actor=actor, action=AuditEvent.Action.CREATE, obj=agreement, summary=title,
        details={"organisation": organisation.code, "kind": kind},
    )
    return agreement
