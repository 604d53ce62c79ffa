"""Identity verifiers: strategies that check who a person is and say how sure we are.

The built-in "format" verifier checks the structure of the number (see dothi.identity.cccd). A
deployment adds others - e.g. a verifier that asks the national identity provider (VNeID) - by
listing a registered name or a dotted class path in `settings.IDENTITY_VERIFIERS`; no core code
changes. Each configured verifier runs in turn; any may reject the identity, and the highest level
any of them grants is the account's verification level.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from django.conf import settings

from dothi.core.registry import StrategyRegistry
from dothi.identity import cccd
from dothi.identity.models import User

CCCD = "cccd"
PASSPORT = "passport"


@dataclass(frozen=True)
class Claim:
    """What a person says about themselves, already normalised."""

    id_kind: str  # "cccd" | "passport"
    id_number: str
    birth_year: int | None
    phone: str  # E.164


@dataclass(frozen=True)
class Verification:
    level: int  # a User.Level value
    verified_by: str
    sex: str = ""


class Verifier(Protocol):
    name: str

    def verify(self, claim: Claim) -> Verification | None:
        """Return a verification, None when this verifier has no opinion, or raise InvalidInput."""


verifiers: StrategyRegistry[Verifier] = StrategyRegistry("identity verifier")


@verifiers.register("format")
class FormatVerifier:
    """Checks the number's structure and its consistency with the birth year. The phone itself is
    confirmed separately by the one-time code, which is why a valid CCCD reaches CITIZEN_ID."""

    name = "format"

    def verify(self, claim: Claim) -> Verification | None:
        if claim.id_kind == CCCD:
            info = cccd.validate_cccd(claim.id_number, claim.birth_year)
            return Verification(level=User.Level.CITIZEN_ID, verified_by=self.name, sex=info.sex)
        cccd.normalise_passport(claim.id_number)
        return Verification(level=User.Level.PHONE, verified_by=self.name)


def verify(claim: Claim) -> Verification:
    """Run every configured verifier; the highest level wins, any rejection stops sign-up."""
    best = Verification(level=User.Level.NONE, verified_by="")
    sex = ""
    for name in settings.IDENTITY_VERIFIERS:
        result = verifiers.get(name).verify(claim)
        if result is None:
            continue
        sex = sex or result.sex
        if result.level > best.level:
            best = result
    return Verification(level=best.level, verified_by=best.verified_by, sex=best.sex or sex)
