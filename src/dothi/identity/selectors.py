"""Identity reads. Reading a person's identifiers as staff always leaves an audit record."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from dothi.core import audit
from dothi.core.errors import NotFound
from dothi.core.models import City
from dothi.core.permissions import require
from dothi.identity import crypto
from dothi.identity.models import User

PERSONAL_FIELDS = ["id_number", "phone", "birth_year", "sex"]


def citizens_of(city: City):
    """Citizens and visitors whose home city is `city`."""
    return User.objects.filter(home_city=city, kind__in=[User.Kind.CITIZEN, User.Kind.VISITOR])


def citizen_personal_data(*, actor, citizen: User, city: City, request=None) -> dict[str, Any]:
    """A citizen's decrypted identifiers for staff with "identity.citizen.view_personal" in `city`.

    Only citizens of that city are reachable; every call writes a read_personal audit record.
    """
    require(actor, "identity.citizen.view_personal", city)
    if not citizens_of(city).filter(pk=citizen.pk).exists():
        raise NotFound(_("No such citizen in this city."))
    audit.read_personal(actor=actor, subject=citizen, city=city, request=request, fields=PERSONAL_FIELDS)
    return {
        "id_number": crypto.decrypt(citizen.id_number_enc),
        "phone": crypto.decrypt(citizen.phone_enc),
        "birth_year": citizen.birth_year,
        "sex": citizen.sex,
    }


def own_account(user: User) -> dict[str, Any]:
    """What the account page shows a person about themselves (their own data, not audited as a staff read)."""
    return {
        "display_name": user.display_name,
        "kind": user.get_kind_display(),
        "id_number": crypto.decrypt(user.id_number_enc),
        "phone": crypto.decrypt(user.phone_enc),
        "birth_year": user.birth_year,
        "verification_level": user.get_verification_level_display(),
        "home_city": user.home_city,
        "date_joined": user.date_joined,
        "consents": list(user.consents.order_by("-given_at")),
    }
