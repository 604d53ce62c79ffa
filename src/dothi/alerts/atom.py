"""The Atom 1.0 index of a city's CAP messages (/alerts/feed.atom), as alerting aggregators expect:
one entry per message, its id the CAP identifier, its alternate link the message's own `.cap.xml`.

Which messages go in is the caller's choice (selectors.messages_for_feed: the active warnings and the
cancellations and all-clears of the last 24 hours).
"""

from __future__ import annotations

from collections.abc import Iterable
from xml.etree import ElementTree as ET

from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from dothi.alerts.cap import cap_time
from dothi.alerts.models import CapMessage, PublicWarning
from dothi.core.models import City, localised

NS = "http://www.w3.org/2005/Atom"
CAP_MEDIA_TYPE = "application/cap+xml"
SUMMARY_MAX = 500


def _sub(parent: ET.Element, tag: str, text=None, **attrs) -> ET.Element:
    el = ET.SubElement(parent, tag, {k: str(v) for k, v in attrs.items()})
    if text is not None:
        el.text = str(text)
    return el


def _path(name: str, fallback: str, **kwargs) -> str:
    try:
        return reverse(name, kwargs=kwargs)
    except NoReverseMatch:
        return fallback


def _title(message: CapMessage, warning: PublicWarning) -> str:
    headline = warning.headline
    if message.msg_type == CapMessage.MsgType.CANCEL:
        if warning.status == PublicWarning.Status.ENDED:
            return _("All clear: %(headline)s") % {"headline": headline}
        return _("Cancelled: %(headline)s") % {"headline": headline}
    if message.msg_type == CapMessage.MsgType.UPDATE:
        return _("Update: %(headline)s") % {"headline": headline}
    return headline


def _summary(message: CapMessage, warning: PublicWarning) -> str:
    text = warning.description or warning.headline
    if message.msg_type == CapMessage.MsgType.CANCEL and warning.reason:
        text = warning.reason
    if len(text) > SUMMARY_MAX:
        text = text[: SUMMARY_MAX - 1].rstrip() + "…"
    return text


def feed(city: City, messages: Iterable[CapMessage], *, base_url: str) -> bytes:
    """The Atom document (UTF-8) listing `messages`, links absolute from `base_url` (the site root)."""
    base = base_url.rstrip("/")
    messages = list(messages)
    feed_path = _path("alerts:feed", "/alerts/feed.atom")
    # Plain names under a default xmlns: ElementTree's namespace handling cannot mix a default namespace
    # with Atom's unqualified attributes (rel, type, href).
    root = ET.Element("feed", {"xmlns": NS, "xml:lang": city.default_language or "vi"})
    _sub(root, "id", f"{base}{feed_path}")
    _sub(root, "title", _("Warnings — %(city)s") % {"city": city.name})
    _sub(root, "subtitle", _("CAP 1.2 warnings and news of %(city)s") % {"city": city.name})
    newest = max((m.sent_at for m in messages), default=None) or timezone.now()
    _sub(root, "updated", cap_time(newest, city))
    _sub(root, "link", rel="self", type="application/atom+xml", href=f"{base}{feed_path}")
    _sub(root, "link", rel="alternate", type="text/html", href=f"{base}{_path('alerts:list', '/alerts/')}")
    author = _sub(root, "author")
    _sub(author, "name", city.name)
    _sub(root, "generator", "dothi")
    for message in messages:
        warning = message.warning
        uid = warning.uid
        entry = _sub(root, "entry")
        _sub(entry, "id", message.identifier)
        _sub(entry, "title", _title(message, warning))
        _sub(entry, "updated", cap_time(message.sent_at, city))
        _sub(entry, "published", cap_time(message.sent_at, city))
        version = message.version
        cap_path = _path("alerts:cap_version", f"/alerts/{uid}/v{version}.cap.xml", uid=uid, version=version)
        _sub(entry, "link", rel="alternate", type=CAP_MEDIA_TYPE, href=f"{base}{cap_path}")
        page = _path("alerts:detail", f"/alerts/{uid}/", uid=uid)
        _sub(entry, "link", rel="related", type="text/html", href=f"{base}{page}")
        entry_author = _sub(entry, "author")
        _sub(entry_author, "name", warning.issuer.name if warning.issuer_id else city.name)
        category = warning.category
        _sub(entry, "category", term=category.code, label=localised(category.name_vi, category.name_en))
        _sub(entry, "summary", _summary(message, warning))
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode("utf-8")
