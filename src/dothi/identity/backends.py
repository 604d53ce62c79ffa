"""The authentication backend: Django's ModelBackend, with the signed-in user read from the shared cache.

Every signed-in request loads its user (`get_user`); under load that query and the model it builds are a
large share of a request's work. When the shared cache is Redis (production), the user is kept there for
`USER_TTL` seconds and dropped whenever the user row is saved or deleted (a password change, a
deactivation, an erasure), so no worker keeps a stale user past the write; roles are not cached (they
are read from memberships where they are checked). With the database cache there is nothing to gain (a
cache read is a query too), so the backend reads the database as ModelBackend does.
"""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

USER_TTL = 60
# The dotted path sign-in views pass to `login()` (sessions remember it; settings list it).
BACKEND = "dothi.identity.backends.CachedModelBackend"


def _shared_cache() -> RedisCache | None:
    cache = caches["default"]
    return cache if isinstance(cache, RedisCache) else None


def cache_key(user_id) -> str:
    return f"dothi:auth-user:{user_id}"


class CachedModelBackend(ModelBackend):
    def get_user(self, user_id):
        cache = _shared_cache()
        if cache is None:
            return super().get_user(user_id)
        user = cache.get(cache_key(user_id))
        if user is None:
            user = super().get_user(user_id)
            if user is None:
                return None
            cache.set(cache_key(user_id), user, USER_TTL)
        return user if self.user_can_authenticate(user) else None


def forget_user(sender, instance, **kwargs) -> None:
    """post_save / post_delete of the user model: drop the cached copy (every worker shares the cache)."""
    cache = _shared_cache()
    if cache is not None and instance.pk is not None:
        cache.delete(cache_key(instance.pk))
