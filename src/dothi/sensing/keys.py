"""Ingestion keys: issuing, revoking, and the `Authorization: Bearer <key>` check every write path
(the bulk API, NGSI-LD) uses.

A key belongs to one data source of one city. Keys are looked up by their SHA-256 and kept per process
for ten seconds (`core.memo.ProcessMemo`; a revocation in this process applies at once, in other worker
processes within ten seconds). Unknown, revoked and other cities' keys get the same answer, so keys
cannot be probed per city.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja.security import HttpBearer

from dothi.core import audit
from dothi.core.errors import DomainError, InvalidInput
from dothi.core.memo import ProcessMemo
from dothi.core.models import AuditEvent, City
from dothi.core.permissions import require
from dothi.sensing.models import DataSource, IngestKey

KEY_PREFIX = "dsk_"
MAX_KEY_LENGTH = 100
_memo = ProcessMemo("sensing.keys")
# A key's last use is written at most once a minute per process.
_used = ProcessMemo("sensing.keys.used", seconds=60)


class IngestUnauthorized(DomainError):
    """401: no key, or a key that is unknown, revoked, or another city's."""

    status = 401
    code = "unauthenticated"


@dataclass(frozen=True)
class Credentials:
    key_id: int
    city: City
    source: DataSource


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def _clean_name(name: str) -> str:
    from django.utils.text import slugify

    cleaned = slugify(str(name or "").strip())[:60]
    if not cleaned:
        raise InvalidInput(
            _("Name the data source (letters, digits and dashes)."), field="name", code="name_required"
        )
    return cleaned


def source_get_or_create(*, city: City, name: str, organisation=None, description: str = "") -> DataSource:
    """The city's data source of this name, created if it does not exist (no permission check: called by
    the key service below, the import commands and the adapters, which check their own)."""
    source, _created = DataSource.objects.get_or_create(
        city=city,
        name=_clean_name(name),
        defaults={"organisation": organisation, "description": description[:300]},
    )
    return source


@transaction.atomic
def ingest_key_issue(*, actor, city: City, name: str, organisation=None) -> tuple[IngestKey, str]:
    """Issue an ingestion key for the data source `name` of `city` (created if needed). Returns the key
    and its plaintext, which is shown once and never stored. `actor=None` is the server's command line.
    Raises PermissionDenied (not sensing.configure) and InvalidInput (no usable name)."""
    if actor is not None:
        require(actor, "sensing.configure", city)
    if organisation is not None and organisation.city_id != city.pk:
        raise InvalidInput(_("The organisation belongs to another city."), field="organisation")
    source = source_get_or_create(city=city, name=name, organisation=organisation)
    plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
    key = IngestKey.objects.create(
        city=city,
        source=source,
        prefix=plaintext[:10],
        key_hash=hash_key(plaintext),
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    audit.record(
        actor=actor,
        action=AuditEvent.Action.CREATE,
        obj=key,
        city=city,
        summary=f"Ingestion key for {source.name}",
        details={"prefix": key.prefix},
    )
    return key, plaintext


@transaction.atomic
def ingest_key_revoke(*, actor, key: IngestKey) -> IngestKey:
    if actor is not None:
        require(actor, "sensing.configure", key.city)
    key.is_active = False
    key.save(update_fields=["is_active"])
    audit.record(actor=actor, action=AuditEvent.Action.UPDATE, obj=key, summary="revoked")
    return key


def _load(digest: str) -> Credentials | None:
    key = (
        IngestKey.objects.select_related("city", "source")
        .filter(key_hash=digest, is_active=True, source__is_active=True, city__is_active=True)
        .first()
    )
    return None if key is None else Credentials(key_id=key.pk, city=key.city, source=key.source)


def lookup(plaintext: str) -> Credentials | None:
    """The active key matching the plaintext, with its city and source; None otherwise."""
    if (
        not isinstance(plaintext, str)
        or not plaintext.startswith(KEY_PREFIX)
        or len(plaintext) > MAX_KEY_LENGTH
    ):
        return None
    digest = hash_key(plaintext)
    found = _memo.get(digest, lambda: _load(digest))
    if found is None:
        # Do not remember misses: a random key per request must not grow the memo.
        _memo._entries.pop(digest, None)
        return None
    due: list[bool] = []
    _used.get(found.key_id, lambda: due.append(True))
    if due:
        now = timezone.now()
        stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - timedelta(seconds=60))
        IngestKey.objects.filter(stale, pk=found.key_id).update(last_used_at=now)
    return found


def bearer(request) -> str | None:
    """The key sent as `Authorization: Bearer <key>`, or None."""
    header = request.headers.get("Authorization", "")
    scheme, _sep, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def authenticate(request, *, city: City | None = None) -> Credentials:
    """The city and data source of the request's ingestion key. `city`: the city the request is for
    (the NGSILD-Tenant, the /c/<slug>/ prefix or the host), when known; a key of another city is refused.
    Raises IngestUnauthorized (401) for a missing, unknown, revoked or other city's key."""
    plaintext = bearer(request)
    if plaintext is None:
        raise IngestUnauthorized(
            _("An ingestion key is required: send it as 'Authorization: Bearer <key>'."), code="key_required"
        )
    found = lookup(plaintext)
    if found is None or (city is not None and found.city.pk != city.pk):
        raise IngestUnauthorized(_("Invalid ingestion key."), code="key_invalid")
    return found


class IngestKeyAuth(HttpBearer):
    """django-ninja security for write endpoints: `request.auth` is the key's Credentials. The city is
    the request's when a /c/<slug>/ prefix or a host name chose one, else the key's."""

    def __call__(self, request):
        chosen = getattr(request, "city", None)
        # With one city served, request.city is that city by default: the key must be that city's too.
        return authenticate(request, city=chosen)

    def authenticate(self, request, token):  # pragma: no cover - __call__ does the work
        return None


def watch() -> None:
    _memo.clear_on_change(IngestKey, DataSource, City)
