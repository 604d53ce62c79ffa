"""Identity API: sign-up and sign-in by citizen ID and one-time code, the signed-in person."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["identity"])
