from django.conf import settings

from dothi.web.nav import links


def platform(request):
    """What every page of the shell needs: the city, the citizen navigation and the tile server."""
    return {
        "city": getattr(request, "city", None),
        "TILE_URL": settings.TILE_URL,
        # Lazy: pages that do not show the navbar (e.g. API errors rendered as HTML) do not pay for it.
        "nav_citizen": lambda: links(request, "citizen"),
    }
