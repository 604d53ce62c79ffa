"""Per-citizen and per-IP rate limits on citizen writes, configured per city, in the shared cache."""

from __future__ import annotations

import time

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils import translation
from django_ratelimit.core import get_usage

from dothi.core.errors import RateLimited
from dothi.core.ratelimit import citizen_write, limit_citizen_write, rates_for
from tests import factories

pytestmark = pytest.mark.django_db

REDIS_TEST_URL = "redis://127.0.0.1:6379/9"


@pytest.fixture(autouse=True, params=["configured", "redis"])
def shared_cache(request, settings):
    """Every test runs with the cache the suite is configured with (the database cache) and again with
    Redis (production: both counters counted in one pipelined round trip), on the real server."""
    if request.param == "redis":
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                       "LOCATION": REDIS_TEST_URL}}
        from django.core.cache import cache

        cache.clear()
    return request.param


def _request(city, user=None, ip="203.0.113.7"):
    from django.contrib.auth.models import AnonymousUser

    request = RequestFactory().post("/write/", REMOTE_ADDR=ip)
    request.city = city
    request.user = user or AnonymousUser()
    return request


def _away_from_window_edge(city, user, rate="3/m"):
    """django-ratelimit counts in fixed windows; start the test well inside one so it cannot straddle two."""
    probe = _request(city, user)
    usage = get_usage(probe, group=f"dothi.citizen_write:{city.pk}:probe", key=lambda g, r: "probe",
                      rate=rate)
    if usage and usage["time_left"] < 5:
        time.sleep(usage["time_left"] + 0.5)


@citizen_write("tests.write")
def _view(request):
    return HttpResponse("stored", status=201)


def _set_rates(city, **rates):
    city.settings = {**city.settings, "ratelimits": rates}
    city.save()


def test_citizen_limit_allows_three_then_refuses_with_429(city, citizen):
    _set_rates(city, citizen_write="3/m", ip_write="100/m")
    _away_from_window_edge(city, citizen)
    statuses = [_view(_request(city, citizen, ip=f"198.51.100.{i}")).status_code for i in range(4)]
    assert statuses == [201, 201, 201, 429]


def test_refusal_is_a_clear_rate_limited_error(city, citizen):
    _set_rates(city, citizen_write="1/m", ip_write="100/m")
    _away_from_window_edge(city, citizen)
    limit_citizen_write(_request(city, citizen), "tests.write")
    with translation.override("en"), pytest.raises(RateLimited) as caught:
        limit_citizen_write(_request(city, citizen), "tests.write")
    assert caught.value.status == 429
    assert "too many" in caught.value.message.lower()


def test_refusal_message_is_translated(city, citizen):
    from django.utils import translation

    _set_rates(city, citizen_write="1/m", ip_write="100/m")
    _away_from_window_edge(city, citizen)
    limit_citizen_write(_request(city, citizen), "tests.write")
    with translation.override("en"), pytest.raises(RateLimited) as english:
        limit_citizen_write(_request(city, citizen), "tests.write")
    assert english.value.message.startswith("You are sending too many requests")


def test_each_city_has_its_own_setting(city, other_city):
    _set_rates(city, citizen_write="3/m", ip_write="100/m")
    _set_rates(other_city, citizen_write="5/m", ip_write="100/m")
    assert rates_for(city, "x")["citizen_write"] == "3/m"
    assert rates_for(other_city, "x")["citizen_write"] == "5/m"
    person = factories.make_citizen(other_city)
    _away_from_window_edge(other_city, person)
    statuses = [_view(_request(other_city, person)).status_code for _ in range(6)]
    assert statuses == [201] * 5 + [429]


def test_a_city_without_settings_uses_the_defaults(city):
    assert rates_for(city, "x") == {"citizen_write": "30/h", "ip_write": "120/h"}


def test_a_scope_may_have_its_own_rate(city):
    _set_rates(city, citizen_write="3/m", ip_write="100/m",
               scopes={"reports.submit": {"citizen_write": "1/h"}})
    assert rates_for(city, "reports.submit")["citizen_write"] == "1/h"
    assert rates_for(city, "other")["citizen_write"] == "3/m"


def test_ip_limit_is_independent_of_the_citizen(city):
    _set_rates(city, citizen_write="100/m", ip_write="2/m")
    people = [factories.make_citizen(city) for _ in range(3)]
    _away_from_window_edge(city, people[0])
    # Three different people from one address: the address is held back at the third.
    statuses = [_view(_request(city, person, ip="192.0.2.10")).status_code for person in people]
    assert statuses == [201, 201, 429]
    # Another address is not affected.
    assert _view(_request(city, people[2], ip="192.0.2.11")).status_code == 201


def test_anonymous_writes_count_per_ip(city):
    _set_rates(city, citizen_write="1/m", ip_write="2/m")
    _away_from_window_edge(city, None)
    statuses = [_view(_request(city, None, ip="192.0.2.20")).status_code for _ in range(3)]
    assert statuses == [201, 201, 429]


def test_counters_are_per_city(city, other_city, citizen):
    _set_rates(city, citizen_write="1/m", ip_write="100/m")
    _set_rates(other_city, citizen_write="1/m", ip_write="100/m")
    _away_from_window_edge(city, citizen)
    assert _view(_request(city, citizen)).status_code == 201
    assert _view(_request(other_city, citizen)).status_code == 201
    assert _view(_request(city, citizen)).status_code == 429


def test_reads_are_not_limited(city, citizen):
    _set_rates(city, citizen_write="1/m", ip_write="1/m")
    request = RequestFactory().get("/read/")
    request.city, request.user = city, citizen
    assert all(_view(request).status_code == 201 for _ in range(3))


def test_counters_live_in_the_shared_database_cache(city, citizen):
    from django.conf import settings
    from django.db import connection

    if "DatabaseCache" not in settings.CACHES["default"]["BACKEND"]:
        pytest.skip("a Redis cache is configured")
    _set_rates(city, citizen_write="3/m", ip_write="100/m")
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM dothi_cache")
        before = cursor.fetchone()[0]
    limit_citizen_write(_request(city, citizen), "tests.write")
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM dothi_cache")
        assert cursor.fetchone()[0] >= before + 2  # one counter for the person, one for the address


def test_redis_counters_are_the_ones_django_ratelimit_reads(city, citizen, shared_cache):
    if shared_cache != "redis":
        pytest.skip("the Redis path")
    _set_rates(city, citizen_write="5/m", ip_write="100/m")
    _away_from_window_edge(city, citizen, rate="5/m")
    for _ in range(3):
        limit_citizen_write(_request(city, citizen), "tests.write")
    where = f"{city.pk}:tests.write"
    usage = get_usage(_request(city, citizen), group=f"dothi.citizen_write:{where}",
                      key=lambda group, request: str(citizen.pk), rate="5/m")
    assert usage["count"] == 3
    usage = get_usage(_request(city, citizen), group=f"dothi.ip_write:{where}", key="ip", rate="100/m")
    assert usage["count"] == 3
