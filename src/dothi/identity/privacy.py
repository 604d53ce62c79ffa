"""The privacy notice (Decree 13/2023/NĐ-CP) that people consent to at sign-up."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

# Bump when the notice text changes: consent is recorded per version.
NOTICE_VERSION = "2025-1"

# Purposes a person consents to by signing up; recorded with the consent.
PURPOSES = {
    "account": _("Create and secure your account (citizen ID and phone, confirmed by a one-time code)"),
    "services": _("Handle what you send to the city: reports, appointments, ideas, ratings"),
    "notifications": _("Send you warnings and answers you asked for"),
    "statistics": _("Compute de-identified statistics to measure and improve public services"),
}
