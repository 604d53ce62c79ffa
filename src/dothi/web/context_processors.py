from django.conf import settings


def platform(request):
    return {"city": getattr(request, "city", None), "TILE_URL": settings.TILE_URL}
