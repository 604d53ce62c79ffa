"""`dothi rotate-field-keys`: re-encrypt every encrypted field under the newest field key.

Rotation: prepend a new key to DOTHI_FIELD_KEY (newest first, old keys after it), restart, run this
command, then drop the old keys. Rows are rewritten in batches, each in its own transaction, so the
command can be interrupted and run again safely (a token already under the newest key is rotated again,
harmlessly).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction
from rich.progress import Progress

from dothi.core import audit
from dothi.core.models import AuditEvent
from dothi.identity import crypto
from dothi.identity.models import OtpChallenge, User

BATCH = 500


def _rotate_users(progress: Progress) -> int:
    qs = User.objects.exclude(id_number_enc="", phone_enc="").order_by("pk")
    task = progress.add_task("users", total=qs.count())
    done = 0
    last_pk = 0
    while True:
        batch = list(qs.filter(pk__gt=last_pk).only("pk", "id_number_enc", "phone_enc")[:BATCH])
        if not batch:
            break
        for user in batch:
            user.id_number_enc = crypto.rotate(user.id_number_enc)
            user.phone_enc = crypto.rotate(user.phone_enc)
        with transaction.atomic():
            User.objects.bulk_update(batch, ["id_number_enc", "phone_enc"])
        last_pk = batch[-1].pk
        done += len(batch)
        progress.advance(task, len(batch))
    return done


def _rotate_challenges(progress: Progress) -> int:
    pending = [
        c
        for c in OtpChallenge.objects.filter(used_at__isnull=True).only("pk", "payload")
        if c.payload.get("data")
    ]
    task = progress.add_task("pending sign-ups", total=len(pending))
    for challenge in pending:
        challenge.payload = {**challenge.payload, "data": crypto.rotate(challenge.payload["data"])}
    with transaction.atomic():
        OtpChallenge.objects.bulk_update(pending, ["payload"], batch_size=BATCH)
    progress.advance(task, len(pending))
    return len(pending)


class Command(BaseCommand):
    help = "Re-encrypt every encrypted personal field under the newest key in DOTHI_FIELD_KEY."

    def handle(self, *args, **options):
        with Progress(transient=options["verbosity"] < 1) as progress:
            users = _rotate_users(progress)
            challenges = _rotate_challenges(progress)
        audit.record(
            actor=None,
            action=AuditEvent.Action.UPDATE,
            object_type="identity.fieldkeys",
            summary="field keys rotated",
            details={"users": users, "challenges": challenges},
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Re-encrypted {users} accounts and {challenges} pending sign-ups under the newest key."
            )
        )
