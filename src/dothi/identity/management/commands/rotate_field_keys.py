"""`dothi rotate-field-keys`: re-encrypt every encrypted field under the newest field key: the fields
every module declares in its manifest (`encrypted_fields`) and pending sign-ups.

Rotation: prepend a new key to DOTHI_FIELD_KEY (newest first, old keys after it), restart, run this
command, then drop the old keys. Rows are rewritten in batches, each in its own transaction, so the
command can be interrupted and run again safely (a token already under the newest key is rotated again,
harmlessly).
"""

from __future__ import annotations

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction
from rich.progress import Progress

from dothi.core import audit
from dothi.core.manifests import registry
from dothi.core.models import AuditEvent
from dothi.identity import crypto
from dothi.identity.models import OtpChallenge

BATCH = 500


def _rotate_field(progress: Progress, dotted: str) -> int:
    """Re-encrypt one declared field ("app_label.Model.field") of every row that has a value."""
    app_label, model_name, name = dotted.split(".")
    model = apps.get_model(app_label, model_name)
    qs = model._default_manager.exclude(**{name: ""}).order_by("pk")
    task = progress.add_task(dotted, total=qs.count())
    done = 0
    last_pk = 0
    while True:
        batch = list(qs.filter(pk__gt=last_pk).only("pk", name)[:BATCH])
        if not batch:
            break
        for row in batch:
            setattr(row, name, crypto.rotate(getattr(row, name)))
        with transaction.atomic():
            model._default_manager.bulk_update(batch, [name])
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
        fields = [f for manifest in registry.all() for f in manifest.encrypted_fields]
        with Progress(transient=options["verbosity"] < 1) as progress:
            counts = {dotted: _rotate_field(progress, dotted) for dotted in fields}
            challenges = _rotate_challenges(progress)
        users = counts.get("identity.User.id_number_enc", 0)
        audit.record(
            actor=None,
            action=AuditEvent.Action.UPDATE,
            object_type="identity.fieldkeys",
            summary="field keys rotated",
            details={"fields": counts, "challenges": challenges},
        )
        others = sum(n for dotted, n in counts.items() if not dotted.startswith("identity.User."))
        self.stdout.write(
            self.style.SUCCESS(
                f"Re-encrypted {users} accounts, {challenges} pending sign-ups and {others} other values "
                "under the newest key."
            )
        )
