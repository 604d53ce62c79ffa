"""Core API: the cities served, their communes, and point-to-commune lookup."""

from __future__ import annotations

from ninja import Router, Schema

from dothi.core import selectors

router = Router(tags=["core"])


class CityOut(Schema):
    slug: str
    name_vi: str
    name_en: str
    province_code: str
    time_zone: str
    default_language: str
    bbox: list[float] | None


@router.get("/cities", response=list[CityOut], auth=None, summary="Cities served by this deployment")
def list_cities(request):
    return [
        CityOut(
            slug=c.slug, name_vi=c.name_vi, name_en=c.name_en, province_code=c.province_code,
            time_zone=c.time_zone, default_language=c.default_language, bbox=list(c.bbox) if c.bbox else None,
        )
        for c in selectors.active_cities()
    ]
