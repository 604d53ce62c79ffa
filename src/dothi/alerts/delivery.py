"""The fan-out of a published CAP message to the people it concerns (see `fanout_run`).

A warning may concern 200,000 people: the inbox notifications are written by one `INSERT … SELECT`
and the extra channels' deliveries by another, so the database does the join and Python never holds
the audience. The SQL is plain and portable (PostgreSQL and SQLite): no JSON functions, booleans and
texts passed as parameters, `LIKE … ESCAPE '!'` for category codes.

How the rows of one message are recognised afterwards, without a column of their own in core: their
topic (`alerts.<category>`), their link (the warning's page) and their `created_at`, which is the
message's *stamp* — its sending time to the second, with the version number as microseconds. The stamp
is deterministic (a re-run computes the same one, which the NOT EXISTS guard relies on) and differs
between any two versions of a warning even when they were sent in the same instant (a rule may raise
and escalate within one batch). The inbox shows the time the warning was sent, to the second.

Concurrency: the whole run is one transaction, opened by a conditional UPDATE that claims the Fanout
(queued or failed → running). A second worker given the same fan-out waits on that row and then finds
it done, so nothing is written twice; the NOT EXISTS guards hold even if the claim is bypassed (an
administrator re-queueing a finished run). Runs of one warning's messages are serialised on its first
message's row (`FOR NO KEY UPDATE`, which the ingestion path never takes, so a rule escalating a
warning is not held up by a fan-out in progress): an all-clear therefore reaches everybody the Alert
reached even if both run at once, and an Alert whose warning has a newer message by the time it runs
is superseded (the newer one reaches the audience) rather than sent late.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from dothi.alerts.models import (
    SEVERITY_RANK,
    CapMessage,
    Fanout,
    PublicWarning,
    Subscription,
    SubscriptionArea,
)
from dothi.core import audit
from dothi.core.models import AuditEvent, Delivery, Notification, NotificationPreference
from dothi.core.notifications import INBOX, channels

logger = logging.getLogger(__name__)

# Deliveries per background task: a fan-out to 200,000 people with e-mail for a tenth of them queues
# 40 tasks, not 20,000 (each task still delivers, and retries, every delivery on its own).
CHUNK = 500
# The inbox shows the first lines of the texts; the warning's page has the rest.
BODY_MAX = 600
LANGUAGES = ("vi", "en")


@dataclass(frozen=True)
class _Texts:
    title: dict[str, str]  # language -> title
    body: dict[str, str]


def topic_for(warning: PublicWarning) -> str:
    return f"alerts.{warning.category.code}"


def url_for(warning: PublicWarning) -> str:
    return f"/alerts/{warning.uid}/"


def stamp_for(message: CapMessage) -> datetime:
    """The `created_at` of the message's notifications (see the module docstring)."""
    return message.sent_at.replace(microsecond=0) + timedelta(microseconds=message.version % 1_000_000)


def _first_line(text: str) -> str:
    return next((line.strip() for line in (text or "").splitlines() if line.strip()), "")


def _texts(warning: PublicWarning, message: CapMessage) -> _Texts:
    """Title and body in each language; English falls back to the Vietnamese text where it has none."""
    title, body = {}, {}
    for lang in LANGUAGES:
        def pick(vi: str, en: str, lang: str = lang) -> str:
            return en if lang == "en" and en else vi

        headline = pick(warning.headline_vi, warning.headline_en)
        with translation.override(lang):
            if message.msg_type == CapMessage.MsgType.CANCEL:
                if warning.status == PublicWarning.Status.ENDED:
                    title[lang] = _("All clear: %(headline)s") % {"headline": headline}
                    lines = [_("This warning has ended.")]
                else:
                    title[lang] = _("Withdrawn: %(headline)s") % {"headline": headline}
                    lines = [_("This warning has been withdrawn."), warning.reason]
            else:
                if message.msg_type == CapMessage.MsgType.UPDATE:
                    title[lang] = _("Update: %(headline)s") % {"headline": headline}
                else:
                    title[lang] = headline
                lines = [_first_line(pick(warning.description_vi, warning.description_en)),
                         _first_line(pick(warning.instruction_vi, warning.instruction_en))]
        title[lang] = title[lang][:200]
        body[lang] = "\n".join(line for line in lines if line)[:BODY_MAX]
    return _Texts(title=title, body=body)


def _like_code(code: str) -> str:
    """The LIKE pattern that finds `code` in a comma-wrapped list, with LIKE's wildcards escaped."""
    escaped = code.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return f"%,{escaped},%"


def _audience(fanout: Fanout, warning: PublicWarning, message: CapMessage) -> tuple[str, list] | None:
    """SQL selecting the user ids the message is for (may repeat an id), and its parameters; None when
    nobody can be (no area, or an all-clear of a warning that reached nobody).

    Alert and Update: the active subscriptions of the city with a commune in the warning's area, the
    category among theirs (or none chosen) and the severity at least their minimum. Cancel: everybody
    an earlier message of the warning reached, whatever their subscription says now — people who were
    told of a danger are told it is over."""
    city_id = fanout.city_id
    if message.msg_type == CapMessage.MsgType.CANCEL:
        earlier = [stamp_for(m) for m in
                   CapMessage.objects.filter(warning=warning, version__lt=message.version).only(
                       "sent_at", "version")]
        if not earlier:
            return None
        marks = ", ".join(["%s"] * len(earlier))
        return (
            f"SELECT n.recipient_id FROM {Notification._meta.db_table} n "  # noqa: S608 - table names only
            f"WHERE n.city_id = %s AND n.url = %s AND n.created_at IN ({marks})",
            [city_id, url_for(warning), *map(_db_time, earlier)],
        )
    codes = [str(c) for c in (warning.commune_codes or [])]
    if not codes:
        return None
    marks = ", ".join(["%s"] * len(codes))
    return (
        f"SELECT s.user_id FROM {Subscription._meta.db_table} s "  # noqa: S608 - table names only
        f"JOIN {SubscriptionArea._meta.db_table} a ON a.subscription_id = s.id "
        f"WHERE s.city_id = %s AND a.city_id = %s AND s.is_active = %s AND a.commune_code IN ({marks}) "
        "AND (s.categories = '' OR s.categories LIKE %s ESCAPE '!') AND s.min_rank <= %s",
        [city_id, city_id, True, *codes, _like_code(warning.category.code),
         SEVERITY_RANK.get(warning.severity, 0)],
    )


def _db_time(value: datetime):
    # Raw SQL needs the value as the ORM stores it (SQLite keeps naive UTC text).
    return connection.ops.adapt_datetimefield_value(value)


def _skip_reason(warning: PublicWarning, message: CapMessage, now: datetime) -> str:
    if message.msg_type == CapMessage.MsgType.CANCEL:
        return ""
    newest = CapMessage.objects.filter(warning=warning).order_by("-version").values_list(
        "version", flat=True).first()
    if newest and newest > message.version:
        return f"superseded by version {newest}"
    if warning.status != PublicWarning.Status.PUBLISHED:
        return f"warning {warning.status}"
    if warning.expires_at is not None and warning.expires_at <= now:
        return "warning expired"
    return ""


def _write_inbox(fanout: Fanout, warning: PublicWarning, message: CapMessage) -> tuple[int, int]:
    """(targeted, written): the audience's size, and the inbox notifications inserted now.

    The audience is selected once, by the INSERT itself (a separate COUNT would run the join twice):
    targeted = the rows written now + those of this message already there. Those can only exist when a
    finished run was re-queued by hand (the claim and the per-warning lock keep any other writer out),
    so only then does the INSERT carry the NOT EXISTS guard, whose anti-join costs a lookup per person."""
    from dothi.identity.models import User

    found = _audience(fanout, warning, message)
    if found is None:
        return 0, 0
    audience, audience_params = found
    n = Notification._meta.db_table
    texts = _texts(warning, message)
    topic, url, stamp = topic_for(warning), url_for(warning), _db_time(stamp_for(message))
    present = Notification.objects.filter(
        city_id=fanout.city_id, topic=topic, url=url, created_at=stamp_for(message)
    ).count()
    guard, guard_params = "", []
    if present:
        guard = (f" AND NOT EXISTS (SELECT 1 FROM {n} x WHERE x.recipient_id = u.id AND x.city_id = %s "  # noqa: S608
                 "AND x.topic = %s AND x.url = %s AND x.created_at = %s)")
        guard_params = [fanout.city_id, topic, url, stamp]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {n} (city_id, recipient_id, topic, title, body, url, created_at) "  # noqa: S608
            "SELECT %s, u.id, %s, "
            "CASE WHEN u.language LIKE 'en%%' THEN %s ELSE %s END, "
            "CASE WHEN u.language LIKE 'en%%' THEN %s ELSE %s END, %s, %s "
            f"FROM {User._meta.db_table} u WHERE u.is_active = %s AND u.erased_at IS NULL "
            f"AND u.id IN ({audience}){guard}",
            [fanout.city_id, topic, texts.title["en"], texts.title["vi"], texts.body["en"], texts.body["vi"],
             url, stamp, True, *audience_params, *guard_params],
        )
        written = max(cursor.rowcount, 0)
    return written + present, written


def _write_deliveries(fanout: Fanout, warning: PublicWarning, message: CapMessage, now: datetime
                      ) -> dict[str, int]:
    """Queue a delivery per extra channel each reached person chose for the topic (else for "*"), and
    the background tasks that send them; returns deliveries per channel."""
    from dothi.core.tasks import deliver_many

    extra = [name for name in channels.names() if name != INBOX]
    if not extra:
        return {}
    n, d, p = Notification._meta.db_table, Delivery._meta.db_table, NotificationPreference._meta.db_table
    topic, url, stamp = topic_for(warning), url_for(warning), _db_time(stamp_for(message))
    mine = "n.city_id = %s AND n.topic = %s AND n.url = %s AND n.created_at = %s"
    mine_params = [fanout.city_id, topic, url, stamp]
    # The channel names as a small table, matched against the JSON list by its text ('"email"'): the
    # same on both databases, and the quotes keep "sms" from matching "sms2".
    names = " UNION ALL ".join(["SELECT %s AS name"] * len(extra))
    when = _db_time(now)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {d} (notification_id, channel, status, attempts, detail, created_at, updated_at) "  # noqa: S608
            "SELECT n.id, c.name, %s, 0, '', %s, %s "
            f"FROM {n} n JOIN {p} pref ON pref.user_id = n.recipient_id "
            f"JOIN ({names}) c ON CAST(pref.channels AS TEXT) LIKE '%%\"' || c.name || '\"%%' "
            f"WHERE {mine} "
            f"AND (pref.topic = %s OR (pref.topic = '*' AND NOT EXISTS (SELECT 1 FROM {p} own "
            "WHERE own.user_id = n.recipient_id AND own.topic = %s))) "
            f"AND NOT EXISTS (SELECT 1 FROM {d} x WHERE x.notification_id = n.id AND x.channel = c.name)",
            [Delivery.Status.QUEUED, when, when, *extra, *mine_params, topic, topic],
        )
        cursor.execute(
            f"SELECT d.id, d.channel FROM {d} d JOIN {n} n ON n.id = d.notification_id "  # noqa: S608
            f"WHERE {mine} AND d.status = %s ORDER BY d.id",
            [*mine_params, Delivery.Status.QUEUED],
        )
        rows = cursor.fetchall()
    per_channel: dict[str, int] = {}
    for _id, channel in rows:
        per_channel[channel] = per_channel.get(channel, 0) + 1
    # Enqueued in this transaction (the database backend stores tasks as rows): the deliveries and
    # their tasks commit together or not at all, as core.services.notify does it.
    ids = [row[0] for row in rows]
    for start in range(0, len(ids), CHUNK):
        deliver_many.enqueue(ids[start:start + CHUNK])
    return per_channel


def fanout_run(fanout_id: int) -> Fanout:
    """Deliver one published CAP message: the inbox of everybody it concerns, then the deliveries of
    the extra channels they chose, recording the counts on the Fanout. Idempotent: a second run of the
    same fan-out (or a concurrent one) writes nothing. Returns the Fanout as it stands afterwards."""
    try:
        with transaction.atomic():
            now = timezone.now()
            claimed = Fanout.objects.filter(
                pk=fanout_id, status__in=[Fanout.Status.QUEUED, Fanout.Status.FAILED]
            ).update(status=Fanout.Status.RUNNING, started_at=now, finished_at=None, detail="")
            fanout = Fanout.objects.select_related("message", "message__warning__category").get(pk=fanout_id)
            if not claimed:
                return fanout  # done, or being run by another worker (whose commit we waited for)
            message, warning = fanout.message, fanout.message.warning
            if not (message.city_id == warning.city_id == fanout.city_id):
                raise ValueError("fan-out, message and warning belong to different cities")
            # Serialise the runs of one warning's messages (see the module docstring).
            list(CapMessage.objects.select_for_update(no_key=True).filter(warning=warning)
                 .order_by("version").values_list("pk", flat=True)[:1])
            warning.refresh_from_db()
            reason = _skip_reason(warning, message, now)
            if reason:
                targeted, written, per_channel = 0, 0, {}
            else:
                targeted, written = _write_inbox(fanout, warning, message)
                per_channel = _write_deliveries(fanout, warning, message, now) if written else {}
            fanout.status = Fanout.Status.DONE
            fanout.targeted, fanout.inbox, fanout.channel_deliveries = targeted, written, per_channel
            fanout.started_at, fanout.finished_at, fanout.detail = now, timezone.now(), reason
            fanout.save(update_fields=["status", "targeted", "inbox", "channel_deliveries", "started_at",
                                       "finished_at", "detail"])
            audit.record(
                actor=None, action=AuditEvent.Action.CREATE, obj=fanout, city=fanout.city,
                summary=f"{message.msg_type} {message.identifier} delivered"[:300],
                details={"targeted": targeted, "inbox": written, "channels": per_channel,
                         "skipped": reason, "seconds": round((fanout.finished_at - now).total_seconds(), 3)},
            )
            return fanout
    except Exception as exc:
        # Everything above rolled back; record why, so the run can be retried and the staff page says so.
        logger.exception("Fan-out %s failed", fanout_id)
        Fanout.objects.filter(pk=fanout_id).exclude(status=Fanout.Status.DONE).update(
            status=Fanout.Status.FAILED, finished_at=timezone.now(),
            detail=f"{type(exc).__name__}: {exc}"[:300],
        )
        raise
