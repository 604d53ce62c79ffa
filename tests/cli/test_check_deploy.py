import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

pytestmark = pytest.mark.django_db

SECURE = {
    "SECRET_KEY": "k" * 30 + "a-real-secret-0123456789-abcdefghij",
    "FIELD_KEYS": ["4h2uA4zKXbq5V6cWn0mGg3m2pBq0p3xRrS7V2JfAq9Q="],
    "LOOKUP_KEY": "another-real-secret-for-lookups",
    "DEBUG": False,
}


@pytest.fixture(autouse=True)
def _no_async_unsafe(monkeypatch):
    # The browser tests set it for Playwright; Django's deploy check rightly calls it an error.
    monkeypatch.delenv("DJANGO_ALLOW_ASYNC_UNSAFE", raising=False)


def _run(capsys):
    try:
        call_command("check_deploy")
        ok = True
    except CommandError:
        ok = False
    captured = capsys.readouterr()
    return ok, captured.out + captured.err


def test_insecure_defaults_are_refused(capsys):
    ok, output = _run(capsys)
    assert not ok
    for name in ["DOTHI_SECRET_KEY", "DOTHI_FIELD_KEY", "DOTHI_LOOKUP_KEY"]:
        assert name in output


def test_secure_settings_pass_with_warnings(capsys, settings):
    with override_settings(**SECURE):
        ok, output = _run(capsys)
    assert ok, output
    assert "HTTPS is off" in output
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        assert "SQLite" in output


@pytest.mark.parametrize(
    "override,fragment",
    [
        ({"DEBUG": True}, "DOTHI_DEBUG"),
        (
            {"FIELD_KEYS": [SECURE["FIELD_KEYS"][0], "ZG90aGktaW5zZWN1cmUtZGVtby1maWVsZC1rZXktMDA="]},
            "DOTHI_FIELD_KEY",
        ),
        ({"LOOKUP_KEY": "dothi-insecure-demo-lookup-key"}, "DOTHI_LOOKUP_KEY"),
    ],
    ids=["debug", "old-insecure-field-key", "lookup-key"],
)
def test_each_error_alone_fails(capsys, override, fragment):
    with override_settings(**{**SECURE, **override}):
        ok, output = _run(capsys)
    assert not ok
    assert fragment in output


def test_command_line_exit_code(tmp_path):
    import os
    import subprocess
    import sys

    env = {
        k: v for k, v in os.environ.items() if not k.startswith("DOTHI_") and k != "DJANGO_ALLOW_ASYNC_UNSAFE"
    }
    env["DOTHI_DATA_DIR"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "dothi.cli", "check-deploy"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "DOTHI_SECRET_KEY" in result.stderr
