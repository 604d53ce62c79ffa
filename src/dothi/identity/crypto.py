"""Field encryption and keyed hashes for personal identifiers.

Values are encrypted with Fernet (AES-128-CBC + HMAC-SHA256) under a key list from settings: the
first key encrypts, every key decrypts, so keys rotate by prepending a new one and running
`dothi rotate-field-keys`. Lookups use an HMAC-SHA256 of the normalised value under a separate key,
so the database can find a citizen by ID or phone without ever holding either in clear.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k.encode()) for k in keys])


def _current() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_KEYS))


def encrypt(value: str) -> str:
    if value == "":
        return ""
    return _current().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    if token == "":
        return ""
    try:
        return _current().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("Cannot decrypt with the configured field keys.") from exc


def rotate(token: str) -> str:
    """Re-encrypt under the first (newest) key."""
    return _current().rotate(token.encode()).decode() if token else ""


def lookup_hash(kind: str, value: str) -> str:
    """Keyed hash of a normalised identifier; `kind` separates namespaces (an ID never matches a phone)."""
    message = f"{kind}:{value}".encode()
    return hmac.new(settings.LOOKUP_KEY.encode(), message, hashlib.sha256).hexdigest()


def generate_key() -> str:
    return Fernet.generate_key().decode()
