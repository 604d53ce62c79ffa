"""Strategies a deployment could plug in from outside dothi (named by dotted path in settings)."""

from __future__ import annotations

from dothi.core.errors import InvalidInput
from dothi.identity.models import User
from dothi.identity.verifiers import Claim, Verification


class MemorySender:
    """An OTP sender that keeps codes in memory."""

    sent: list[tuple[str, str]] = []

    def send(self, *, phone: str, code: str, purpose: str) -> None:
        type(self).sent.append((phone, code))


class FakeVneidVerifier:
    """Stands in for a verifier that asks the national identity provider (VNeID): it knows a few
    people, vouches strongly for them, and rejects IDs it knows to be revoked."""

    name = "vneid"
    known = {"048090000001": 1990}
    revoked = {"048090000002"}

    def verify(self, claim: Claim) -> Verification | None:
        if claim.id_kind != "cccd":
            return None
        if claim.id_number in self.revoked:
            raise InvalidInput("This citizen ID has been revoked.", code="vneid_revoked", field="id_number")
        if self.known.get(claim.id_number) == claim.birth_year:
            return Verification(level=User.Level.STRONG, verified_by=self.name)
        return None
