"""`dothi rotate-field-keys` re-encrypts every encrypted field under the newest key."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from dothi.core.models import AuditEvent
from dothi.identity import crypto, services
from dothi.identity.models import OtpChallenge, User
from tests import factories

pytestmark = pytest.mark.django_db


def test_rotate_field_keys(city, settings, outbox):
    old = crypto.generate_key()
    settings.FIELD_KEYS = [old]
    people = [factories.make_citizen(city) for _ in range(7)]
    staff = factories.make_staff(city, "operator")
    pending = services.citizen_signup_start(
        id_kind="cccd",
        id_number="048090999999",
        phone="0912000111",
        birth_year=1990,
        display_name="Võ An",
        consent=True,
        city=city,
    )
    clear = {u.pk: (crypto.decrypt(u.id_number_enc), crypto.decrypt(u.phone_enc)) for u in people}
    new = crypto.generate_key()
    settings.FIELD_KEYS = [new, old]
    out = io.StringIO()
    call_command("rotate_field_keys", stdout=out, verbosity=0)
    assert "Re-encrypted 7 accounts and 1 pending sign-ups" in out.getvalue()
    # Only the new key remains: everything must still decrypt.
    settings.FIELD_KEYS = [new]
    for user in User.objects.filter(pk__in=clear):
        assert (crypto.decrypt(user.id_number_enc), crypto.decrypt(user.phone_enc)) == clear[user.pk]
    assert User.objects.get(pk=staff.pk).id_number_enc == ""
    user = services.citizen_signup_confirm(token=pending.token, code=outbox.last_code("+84912000111"))
    assert crypto.decrypt(user.id_number_enc) == "048090999999"
    assert AuditEvent.objects.filter(object_type="identity.fieldkeys").exists()
    assert OtpChallenge.objects.count() == 1
