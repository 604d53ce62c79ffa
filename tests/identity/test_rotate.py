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
    assert "Re-encrypted 7 accounts, 1 pending sign-ups and 0 other values" in out.getvalue()
    # Only the new key remains: everything must still decrypt.
    settings.FIELD_KEYS = [new]
    for user in User.objects.filter(pk__in=clear):
        assert (crypto.decrypt(user.id_number_enc), crypto.decrypt(user.phone_enc)) == clear[user.pk]
    assert User.objects.get(pk=staff.pk).id_number_enc == ""
    user = services.citizen_signup_confirm(token=pending.token, code=outbox.last_code("+84912000111"))
    assert crypto.decrypt(user.id_number_enc) == "048090999999"
    assert AuditEvent.objects.filter(object_type="identity.fieldkeys").exists()
    assert OtpChallenge.objects.count() == 1


def test_every_encrypted_field_is_declared_for_rotation():
    """A field holding encrypted tokens that no manifest declares would not be re-encrypted, and would
    become unreadable once the old key is dropped. Fields are recognised by the `_enc` suffix."""
    from django.apps import apps

    from dothi.core.manifests import registry

    declared = {f for manifest in registry.all() for f in manifest.encrypted_fields}
    found = {
        f"{model._meta.app_label}.{model.__name__}.{field.name}"
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if field.name.endswith("_enc")
    }
    assert found and found <= declared
    for dotted in declared:  # and every declared one exists
        app_label, model_name, name = dotted.split(".")
        apps.get_model(app_label, model_name)._meta.get_field(name)


def test_rotation_covers_the_modules_fields(city, settings):
    """Fields other modules declare go through the same rotation: an agency system's API key (reports)
    is readable after it with only the new key. (The declaration test above makes sure every such field
    is declared.)"""
    from dothi.reports.models import Dispatch

    old = crypto.generate_key()
    settings.FIELD_KEYS = [old]
    agency = factories.make_agency(city, "so-gtvt")
    dispatch = Dispatch.objects.create(
        city=city, agency=agency, method="open311", api_key_enc=crypto.encrypt("their-secret")
    )
    new = crypto.generate_key()
    settings.FIELD_KEYS = [new, old]
    out = io.StringIO()
    call_command("rotate_field_keys", stdout=out, verbosity=0)
    assert "and 1 other values" in out.getvalue()
    settings.FIELD_KEYS = [new]
    assert crypto.decrypt(Dispatch.objects.get(pk=dispatch.pk).api_key_enc) == "their-secret"
