"""Per-citizen and per-IP rate limits on every write a citizen can make, configured per city.

The counters live in the cache every worker shares (the database cache by default, Redis when
configured), through django-ratelimit's core. Rates come from the city's policy
(`dothi.core.cities.policy(city, "ratelimits")`): "citizen_write" per signed-in person and "ip_write"
per client address, as django-ratelimit rate strings ("30/h", "3/m"). A scope may have its own rates:
`City.settings["ratelimits"]["scopes"]["reports.submit"] = {"citizen_write": "5/h"}`.

Use `limit_citizen_write(request, "reports.submit")` at the top of a ninja endpoint or service call
(the API renders the `RateLimited` it raises as a 429), or decorate a view with
`@citizen_write("reports.submit")` (renders the 429 page).
"""

from __future__ import annotations

import functools

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.shortcuts import render
from django.utils.translation import gettext as _
from django_ratelimit import ALL
from django_ratelimit.core import (
    EXPIRATION_FUDGE,
    _get_ip,
    _get_window,
    _make_cache_key,
    _split_rate,
    get_usage,
)

from dothi.core.cities import policy
from dothi.core.errors import RateLimited


def rates_for(city, scope: str) -> dict[str, str]:
    """The citizen and IP rates for `scope` in `city`: the scope's own, else the city's, else the default."""
    limits = policy(city, "ratelimits")
    scoped = (limits.get("scopes") or {}).get(scope, {})
    return {
        "citizen_write": scoped.get("citizen_write", limits["citizen_write"]),
        "ip_write": scoped.get("ip_write", limits["ip_write"]),
    }


def counted_over(request, *, group: str, key, rate: str) -> bool:
    """Count one hit on the counter (`group`, `key`) and say whether it is over `rate`.

    django-ratelimit adds the counter, or increments it when it exists; when the cache drops the key in
    between (the database cache culls rows when it is full), the increment fails and it answers "over"
    with no count. That is a race, not an abuse: count again (the add then succeeds). Under many
    concurrent writers a small cache can cull the key again in between, so up to three attempts; a cache
    that fails three times in a row still refuses (fail closed)."""
    for _attempt in range(3):
        usage = get_usage(request, group=group, key=key, rate=rate, method=ALL, increment=True)
        if usage is None:
            return False
        if not (usage["limit"] == 0 and usage["time_left"] == -1):  # a real count
            return usage["should_limit"]
    return True


def _citizen_key(group, request) -> str:
    return str(request.user.pk)


def _counted_over_redis(cache: RedisCache, counters: list[tuple[str, str, str]]) -> list[bool]:
    """Count one hit on each (group, value, rate) counter in one round trip to Redis: the same keys,
    windows and expiry django-ratelimit uses (so its own readers agree), each created at 0 when missing
    and incremented atomically (SET NX EX, then INCR), pipelined."""
    pipe = cache._cache.get_client(write=True).pipeline(transaction=False)
    limits = []
    for group, value, rate in counters:
        limit, period = _split_rate(rate)
        window = _get_window(value, period)
        key = cache.make_and_validate_key(_make_cache_key(group, window, rate, value, ALL))
        pipe.set(key, 0, ex=period + EXPIRATION_FUDGE, nx=True)
        pipe.incr(key)
        limits.append(limit)
    counts = pipe.execute()[1::2]
    return [count > limit for count, limit in zip(counts, limits, strict=True)]


def limit_citizen_write(request, scope: str) -> None:
    """Count one write in `scope`; raise `RateLimited` (429) when the person or the address is over
    the limit.

    Both counters advance on every call, so one person switching addresses, or many accounts behind one
    address, are each held back.
    """
    city = getattr(request, "city", None)
    rates = rates_for(city, scope)
    # Counters are per city and scope: a busy city does not use up another's allowance.
    where = f"{city.pk if city else '-'}:{scope}"
    user = getattr(request, "user", None)
    cache = caches["default"]
    if isinstance(cache, RedisCache) and getattr(settings, "RATELIMIT_ENABLE", True):
        # Production: both counters in one round trip.
        counters = [(f"dothi.ip_write:{where}", _get_ip(request), rates["ip_write"])]
        if user is not None and user.is_authenticated:
            counters.append((f"dothi.citizen_write:{where}", str(user.pk), rates["citizen_write"]))
        if any(_counted_over_redis(cache, counters)):
            raise RateLimited(
                _("You are sending too many requests. Please wait a few minutes and try again."),
                scope=scope,
            )
        return
    over_citizen = False
    if user is not None and user.is_authenticated:
        over_citizen = counted_over(
            request, group=f"dothi.citizen_write:{where}", key=_citizen_key, rate=rates["citizen_write"]
        )
    over_ip = counted_over(request, group=f"dothi.ip_write:{where}", key="ip", rate=rates["ip_write"])
    if over_citizen or over_ip:
        raise RateLimited(
            _("You are sending too many requests. Please wait a few minutes and try again."),
            scope=scope,
        )


def citizen_write(scope: str):
    """View decorator: `limit_citizen_write` before the view, a 429 page when over the limit."""

    def decorator(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.method not in ("GET", "HEAD", "OPTIONS"):
                try:
                    limit_citizen_write(request, scope)
                except RateLimited as exc:
                    context = {"status": 429, "message": exc.message}
                    return render(request, "web/error.html", context, status=429)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
