"""No citizen ID or phone in clear anywhere in the database: rows read raw, and the SQLite file's bytes."""

from __future__ import annotations

import pytest
from django.db import connection

from dothi.identity import crypto, services

pytestmark = pytest.mark.django_db(transaction=True)

ID = "079301234567"
PHONE = "+84935551234"
NATIONAL = "0935551234"


def _all_raw_text() -> str:
    parts = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            quoted = connection.ops.quote_name(table)
            cursor.execute(f"SELECT * FROM {quoted}")  # noqa: S608 - table names from introspection
            parts.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(parts)


def _database_bytes() -> bytes:
    if connection.vendor != "sqlite":
        return b""
    connection.ensure_connection()
    raw = connection.connection
    if hasattr(raw, "serialize"):
        # In-memory test databases have no file: serialise the image SQLite would write to disk.
        return raw.serialize()
    path = connection.settings_dict["NAME"]
    return open(path, "rb").read()  # noqa: SIM115


def test_identifiers_never_stored_in_clear(city, outbox):
    challenge = services.citizen_signup_start(
        id_kind="cccd",
        id_number=ID,
        phone=NATIONAL,
        birth_year=2001,
        display_name="Phạm Minh",
        consent=True,
        city=city,
        ip="203.0.113.9",
    )
    services.citizen_signup_confirm(token=challenge.token, code=outbox.last_code(PHONE))
    services.citizen_signin_start(identifier=ID)  # a pending sign-in challenge too
    text = _all_raw_text()
    assert crypto.lookup_hash("cccd", ID) in text  # the scan does see the users table
    for secret in (ID, PHONE, NATIONAL, PHONE[1:], PHONE[3:]):
        assert secret not in text
    data = _database_bytes()
    if connection.vendor == "sqlite":
        assert crypto.lookup_hash("cccd", ID).encode() in data
        for secret in (ID, PHONE, NATIONAL, PHONE[3:]):
            assert secret.encode() not in data
            assert secret.encode("utf-16-le") not in data


def test_encryption_round_trip_and_rotation(settings):
    old = crypto.generate_key()
    settings.FIELD_KEYS = [old]
    token = crypto.encrypt(ID)
    assert token != ID and crypto.decrypt(token) == ID
    new = crypto.generate_key()
    settings.FIELD_KEYS = [new, old]
    rotated = crypto.rotate(token)
    settings.FIELD_KEYS = [new]
    assert crypto.decrypt(rotated) == ID
    with pytest.raises(ValueError):
        crypto.decrypt(token)
