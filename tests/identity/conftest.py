"""Identity test helpers: a private outbox per test, and reading codes from it like a person would."""

from __future__ import annotations

import pytest

from dothi.core.models import City


@pytest.fixture(autouse=True)
def _private_data_dir(settings, tmp_path):
    # The console OTP sender writes DATA_DIR/outbox.log; never the checkout's var/.
    settings.DATA_DIR = tmp_path
    settings.OTP_SENDER = "console"
    settings.IDENTITY_VERIFIERS = ["format"]
    settings.OTP_MAX_ATTEMPTS = 5
    settings.OTP_SENDS_PER_HOUR = 5
    settings.OTP_TTL_SECONDS = 300
    settings.OTP_LOCKOUT_SECONDS = 900


@pytest.fixture
def outbox(settings):
    """last_code(phone) -> the newest code the console sender wrote for that phone (E.164)."""

    class Outbox:
        path = settings.DATA_DIR / "outbox.log"

        def lines(self) -> list[list[str]]:
            if not self.path.exists():
                return []
            return [line.split() for line in self.path.read_text(encoding="utf-8").splitlines() if line]

        def last_code(self, phone: str) -> str:
            codes = [parts[2] for parts in self.lines() if parts[1] == phone]
            assert codes, f"no code was sent to {phone}"
            return codes[-1]

    return Outbox()


@pytest.fixture
def city(db) -> City:
    from tests import factories

    return factories.make_city("danang")
