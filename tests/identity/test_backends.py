"""The authentication backend keeps the signed-in user in Redis and drops it on every write to the user."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from dothi.identity.backends import CachedModelBackend, cache_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_cache(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:6379/9"}}
    from django.core.cache import cache

    cache.clear()
    return cache


def test_second_load_reads_no_database(citizen, redis_cache, django_assert_num_queries):
    backend = CachedModelBackend()
    with django_assert_num_queries(1):
        assert backend.get_user(citizen.pk) == citizen
    with django_assert_num_queries(0):
        again = backend.get_user(citizen.pk)
    assert again == citizen and again is not citizen
    assert again.display_name == citizen.display_name


def test_a_saved_user_is_read_again(citizen, redis_cache):
    backend = CachedModelBackend()
    backend.get_user(citizen.pk)
    citizen.display_name = "Tên mới"
    citizen.save()
    assert redis_cache.get(cache_key(citizen.pk)) is None
    assert backend.get_user(citizen.pk).display_name == "Tên mới"


def test_a_deactivated_user_is_signed_out_at_once(citizen, redis_cache):
    backend = CachedModelBackend()
    assert backend.get_user(citizen.pk) is not None
    citizen.is_active = False
    citizen.save(update_fields=["is_active"])
    assert backend.get_user(citizen.pk) is None


def test_a_deleted_user_is_gone(citizen, redis_cache):
    backend = CachedModelBackend()
    backend.get_user(citizen.pk)
    pk = citizen.pk
    get_user_model().objects.filter(pk=pk).delete()
    assert backend.get_user(pk) is None


def test_without_redis_every_load_reads_the_database(citizen, settings, django_assert_num_queries):
    if "redis" in settings.CACHES["default"]["BACKEND"].lower():
        pytest.skip("the suite runs with Redis")
    backend = CachedModelBackend()
    backend.get_user(citizen.pk)
    with django_assert_num_queries(1):
        assert backend.get_user(citizen.pk) == citizen


def test_a_signed_in_request_uses_the_cached_user(client, citizen, redis_cache):
    client.force_login(citizen)
    assert client.get("/account/").status_code == 200
    assert redis_cache.get(cache_key(citizen.pk)) == citizen
