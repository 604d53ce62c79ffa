"""CAP 1.2 (OASIS Common Alerting Protocol) edge adapter: renders one published version of a warning.

A message is rendered once, when it is published (`services._publish`), and stored: what was sent is
what is served, even if the boundaries or the category's name change later. Every timestamp carries an
explicit offset in the city's time zone at second precision, because the schema's pattern refuses "Z"
and fractions of a second.
"""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit
from xml.etree import ElementTree as ET
from zoneinfo import ZoneInfo

import shapely
from django.conf import settings
from shapely.geometry import Polygon, shape

from dothi.alerts.models import CapMessage, PublicWarning
from dothi.core.models import City, CommuneArea

NS = "urn:oasis:names:tc:emergency:cap:1.2"
XSD_PATH = Path(__file__).parent / "data" / "CAP-v1.2.xsd"
GEOCODE_COMMUNE = "VN-commune"
# Receivers (sirens, phones' cell broadcast gateways) cope badly with huge polygons: a commune's
# boundary is simplified to at most this many points.
MAX_POLYGON_POINTS = 100
AREA_DESC_MAX = 300


def _q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def _sub(parent: ET.Element, tag: str, text=None) -> ET.Element:
    el = ET.SubElement(parent, _q(tag))
    if text is not None:
        el.text = str(text)
    return el


def cap_time(value: datetime, city: City) -> str:
    """2026-12-04T16:30:00+07:00: the city's zone, seconds, an explicit offset (never "Z")."""
    local = value.astimezone(ZoneInfo(city.time_zone or settings.TIME_ZONE)).replace(microsecond=0)
    return local.isoformat(timespec="seconds")


# --- Addresses -------------------------------------------------------------------------------------


def _base_url() -> str:
    return (getattr(settings, "PUBLIC_BASE_URL", "") or getattr(settings, "SITE_URL", "") or "").rstrip("/")


def absolute_url(city: City, path: str) -> str:
    """An absolute link into `city`'s site: its first host name, else PUBLIC_BASE_URL (or SITE_URL) with
    the /c/<slug>/ prefix unless it is the default city, else http://localhost."""
    if path.startswith(("http://", "https://")):
        return path
    base = _base_url()
    if city.hosts:
        secure = getattr(settings, "SECURE_HTTPS", False)
        scheme = urlsplit(base).scheme if base else ("https" if secure else "http")
        return f"{scheme}://{city.hosts[0]}{path}"
    if not base:
        return f"http://localhost{path}"
    from dothi.core import cities

    default = cities.default_city()
    prefix = "" if default is not None and default.pk == city.pk else f"/c/{city.slug}"
    return f"{base}{prefix}{path}"


# The public paths are part of the module's contract (docs/modules/alerts.md), written out rather than
# reversed: reverse() would add the current request's /c/<slug>/ prefix (absolute_url adds the city's
# own), and its first call in a process imports every URLconf (a second, in an ingestion worker that
# never served a page, on the breach → published path).


def warning_path(warning: PublicWarning) -> str:
    return f"/alerts/{warning.uid}/"


def message_path(message: CapMessage) -> str:
    return f"/alerts/{message.warning.uid}/v{message.version}.cap.xml"


def attachment_path(warning: PublicWarning, attachment) -> str:
    return f"/alerts/{warning.uid}/attachments/{attachment.pk}/"


def sender_for(city: City) -> str:
    """The CAP sender: unique per city, no spaces or commas."""
    if city.hosts:
        return f"alerts@{city.hosts[0]}"
    host = urlsplit(_base_url()).hostname or "localhost"
    return f"alerts.{city.slug}@{host}"


def identifier_for(city: City, warning: PublicWarning, version: int) -> str:
    # An absolute IRI (the Atom feed uses it as the entry id) without the spaces, commas, "<" and "&"
    # CAP forbids.
    return f"urn:dothi:{city.slug}:alert:{warning.uid}:{version}"


def reference_of(message: CapMessage, city: City) -> str:
    """One CAP `references` entry: "sender,identifier,sent"."""
    return f"{message.sender},{message.identifier},{cap_time(message.sent_at, city)}"


# --- Area ------------------------------------------------------------------------------------------


def _ring_text(coords) -> str:
    # CAP wants "lat,lon" pairs, GeoJSON gives [lon, lat].
    return " ".join(f"{round(lat, 6)},{round(lon, 6)}" for lon, lat, *_ in coords)


def _exteriors(geom) -> list[Polygon]:
    if geom.geom_type == "Polygon":
        return [Polygon(geom.exterior)]
    if geom.geom_type == "MultiPolygon":
        return [Polygon(p.exterior) for p in geom.geoms]
    return []


def _simplified(poly: Polygon, limit: int = MAX_POLYGON_POINTS) -> Polygon:
    if len(poly.exterior.coords) <= limit:
        return poly
    min_x, min_y, max_x, max_y = poly.bounds
    tolerance = max(max_x - min_x, max_y - min_y) / 1000 or 1e-6
    simple = poly
    for _ in range(30):
        simple = poly.simplify(tolerance, preserve_topology=True)
        if len(simple.exterior.coords) <= limit:
            return simple
        tolerance *= 2
    return Polygon(poly.exterior.coords[: limit - 1] + [poly.exterior.coords[0]])


# The simplified rings of a commune boundary, keyed by (CommuneArea pk, updated_at): a changed boundary
# gets a new key, so no signal is needed to keep the cache right across processes.
_ring_cache: dict[tuple, list[str]] = {}
_ring_lock = threading.Lock()


def _commune_rings(city: City, codes: list[str]) -> list[str]:
    if not codes:
        return []
    keys = list(
        CommuneArea.objects.filter(city=city, commune_id__in=codes)
        .order_by("commune_id")
        .values_list("pk", "updated_at")
    )
    missing = [pk for pk, updated in keys if (pk, updated) not in _ring_cache]
    if missing:
        for pk, updated, geometry in CommuneArea.objects.filter(pk__in=missing).values_list(
            "pk", "updated_at", "geometry"
        ):
            rings = [_ring_text(_simplified(p).exterior.coords) for p in _exteriors(shape(geometry))]
            with _ring_lock:
                if len(_ring_cache) > 20000:
                    _ring_cache.clear()
                _ring_cache[(pk, updated)] = rings
    out: list[str] = []
    for key in keys:
        out.extend(_ring_cache.get(key, []))
    return out


def area_polygons(warning: PublicWarning) -> list[str]:
    """CAP polygons of the warning: its own polygon's outer rings, else its communes' boundaries."""
    if warning.polygon:
        geom = shape(warning.polygon)
        return [_ring_text(shapely.geometry.polygon.orient(p).exterior.coords) for p in _exteriors(geom)]
    return _commune_rings(warning.city, list(warning.commune_codes or []))


def _area_desc(warning: PublicWarning, lang: str, commune_names: dict[str, str]) -> str:
    text = (warning.area_desc_en if lang == "en" else "") or warning.area_desc_vi
    if not text:
        names = [commune_names.get(c, c) for c in warning.commune_codes or []]
        text = ", ".join(names) if names else warning.city.name_en if lang == "en" else warning.city.name_vi
    return text[:AREA_DESC_MAX]


# --- Info ------------------------------------------------------------------------------------------

_SEVERE = ("Severe", "Extreme")


def response_type(warning: PublicWarning, msg_type: str) -> str:
    """What people should do, from the category and the severity (CAP `responseType`)."""
    if msg_type == CapMessage.MsgType.CANCEL and warning.status == PublicWarning.Status.ENDED:
        return "AllClear"
    category = warning.category
    severe = warning.severity in _SEVERE
    kind = category.cap_category
    if category.is_news:
        return "Avoid" if kind in ("Transport", "Infra") else "Monitor"
    if kind in ("Met", "Geo", "Fire", "Rescue", "CBRNE"):
        if warning.severity == "Extreme" and warning.urgency == "Immediate":
            return "Shelter"
        return "Prepare" if severe else "Monitor"
    if kind in ("Env", "Health", "Transport", "Infra", "Security", "Safety"):
        return "Avoid" if severe or kind in ("Transport", "Infra") else "Monitor"
    return "Monitor"


def _texts(warning: PublicWarning, lang: str) -> dict[str, str]:
    if lang == "vi":
        return {
            "headline": warning.headline_vi,
            "description": warning.description_vi,
            "instruction": warning.instruction_vi,
            "event": warning.category.name_vi,
            "sender": warning.issuer.name_vi if warning.issuer else warning.city.name_vi,
        }
    return {
        "headline": warning.headline_en,
        "description": warning.description_en,
        "instruction": warning.instruction_en,
        "event": warning.category.name_en or warning.category.name_vi,
        "sender": (
            (warning.issuer.name_en or warning.issuer.name_vi) if warning.issuer
            else (warning.city.name_en or warning.city.name_vi)
        ),
    }


def _info(root, message, warning, lang, polygons, commune_names, attachments) -> None:
    city = warning.city
    texts = _texts(warning, lang)
    info = _sub(root, "info")
    _sub(info, "language", "vi-VN" if lang == "vi" else "en-US")
    _sub(info, "category", warning.category.cap_category)
    _sub(info, "event", texts["event"])
    _sub(info, "responseType", response_type(warning, message.msg_type))
    _sub(info, "urgency", warning.urgency)
    _sub(info, "severity", warning.severity)
    _sub(info, "certainty", warning.certainty)
    _sub(info, "effective", cap_time(warning.effective_at, city))
    if warning.onset_at:
        _sub(info, "onset", cap_time(warning.onset_at, city))
    if warning.expires_at:
        _sub(info, "expires", cap_time(warning.expires_at, city))
    _sub(info, "senderName", texts["sender"])
    _sub(info, "headline", texts["headline"])
    if texts["description"]:
        _sub(info, "description", texts["description"])
    if texts["instruction"]:
        _sub(info, "instruction", texts["instruction"])
    _sub(info, "web", absolute_url(city, warning_path(warning)))
    if warning.issuer and (warning.issuer.phone or warning.issuer.email):
        _sub(info, "contact", warning.issuer.phone or warning.issuer.email)
    for attachment in attachments:
        resource = _sub(info, "resource")
        _sub(resource, "resourceDesc", attachment.description)
        _sub(resource, "mimeType", attachment.mime_type)
        _sub(resource, "size", attachment.size)
        _sub(resource, "uri", absolute_url(city, attachment_path(warning, attachment)))
        _sub(resource, "digest", attachment.sha1)
    area = _sub(info, "area")
    _sub(area, "areaDesc", _area_desc(warning, lang, commune_names))
    for ring in polygons:
        _sub(area, "polygon", ring)
    for code in warning.commune_codes or []:
        geocode = _sub(area, "geocode")
        _sub(geocode, "valueName", GEOCODE_COMMUNE)
        _sub(geocode, "value", code)


def render(message: CapMessage) -> str:
    """The CAP 1.2 XML of one message of a warning (its current state: a Cancel carries the last info)."""
    from dothi.core.models import Commune

    warning = message.warning
    city = warning.city
    root = ET.Element(_q("alert"))
    _sub(root, "identifier", message.identifier)
    _sub(root, "sender", message.sender)
    _sub(root, "sent", cap_time(message.sent_at, city))
    _sub(root, "status", "Actual")
    _sub(root, "msgType", message.msg_type)
    if warning.source == PublicWarning.Source.RULE:
        _sub(root, "source", "dothi automatic rule")
    _sub(root, "scope", "Public")
    if message.msg_type == CapMessage.MsgType.CANCEL and warning.reason:
        _sub(root, "note", warning.reason)
    if message.references:
        _sub(root, "references", message.references)
    polygons = area_polygons(warning)
    commune_names = {}
    if not (warning.area_desc_vi and warning.area_desc_en) and warning.commune_codes:
        names = Commune.objects.filter(code__in=warning.commune_codes).values_list("code", "name")
        commune_names = dict(names)
    attachments = list(warning.attachments.all()) if warning.pk else []
    _info(root, message, warning, "vi", polygons, commune_names, attachments)
    if warning.headline_en:
        _info(root, message, warning, "en", polygons, commune_names, attachments)
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode", default_namespace=NS)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"
