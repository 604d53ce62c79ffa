"""Statistics on warnings for the KPI and open-data modules (through the manifest): warnings published,
their lead time, how fast and how widely they were delivered, and an open dataset of warnings per
category, month and commune.

Definitions (a period is the city's local days [start, end)):

- A warning belongs to the period in which it was *first published* (`published_at`); cancelled and
  ended ones count (they were published), drafts and rejected ones do not. News (security bulletins,
  traffic closures) is counted apart from warnings: it announces, it does not warn of a hazard.
- *Lead time* = onset − first publication, in minutes, for the warnings published in the period that
  have an onset. A warning raised by a rule has a lead time of 0 by definition, whether or not it
  records an onset: it is raised when the breach is observed, so the hazard is already there and the
  people warned got no advance notice. It is counted (as 0) rather than left out, so that a city
  moving from forecasts to sensor alarms sees its lead time fall, which is true. A manual warning
  published after its onset also counts as 0 (late, not negative).
- A message's *fan-out* belongs to the period in which the message was sent. Its duration runs from
  the message being sent (published) to the last inbox written (`finished_at`): what the last person
  waited, queue included.
- *Deliveries* = inbox notifications written + deliveries queued on the other channels.
- *Delivery reach* = inbox notifications written / subscribers targeted (both from the fan-out rows:
  subscribers whose areas, categories and lowest severity matched).
- *Area reach* = of the people subscribed to a commune of a warning's area (whatever categories or
  severity they chose), the share its first message reached. The people subscribed are counted
  now, not when the warning went out: subscriptions change slowly, and the fan-out log does not
  keep who was in the area but filtered out.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from django.db.models import Count, Q, Sum
from django.utils.translation import gettext_lazy

from dothi.alerts.models import (
    AlertCategory,
    Fanout,
    PublicWarning,
    SubscriptionArea,
)
from dothi.core.manifests import KpiCalculator, KpiValue, OpenDataset, Period
from dothi.core.stats import percentile_cont

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from dothi.core.models import City

W = PublicWarning
PUBLISHED_STATUSES = (W.Status.PUBLISHED, W.Status.ENDED, W.Status.CANCELLED)


def _bounds(city: City, period: Period) -> tuple[dt.datetime, dt.datetime]:
    zone = ZoneInfo(city.time_zone)
    return (
        dt.datetime.combine(period.start, dt.time.min, tzinfo=zone),
        dt.datetime.combine(period.end, dt.time.min, tzinfo=zone),
    )


def _no_data(note: str) -> KpiValue:
    return KpiValue(value=None, numerator=0, denominator=0, sample_size=0, note=note)


def _published_in(city: City, period: Period) -> QuerySet[PublicWarning]:
    start, end = _bounds(city, period)
    return W.objects.for_city(city).filter(
        status__in=PUBLISHED_STATUSES, published_at__gte=start, published_at__lt=end
    )


def _fanouts_in(city: City, period: Period) -> QuerySet[Fanout]:
    start, end = _bounds(city, period)
    return Fanout.objects.filter(city=city, message__sent_at__gte=start, message__sent_at__lt=end)


# --- KPI calculators ---------------------------------------------------------------------------------


def kpi_warnings_published(city: City, period: Period) -> KpiValue:
    """Warnings (not news) first published in the period, manual and automatic."""
    figures = _published_in(city, period).filter(category__is_news=False).aggregate(
        n=Count("id"), automatic=Count("id", filter=Q(source=W.Source.RULE))
    )
    n = figures["n"]
    return KpiValue(value=n, numerator=n, denominator=None, sample_size=n,
                    note=f"{figures['automatic']} raised by sensor rules")


def kpi_news_published(city: City, period: Period) -> KpiValue:
    """News items (security bulletins, traffic closures…) first published in the period."""
    n = _published_in(city, period).filter(category__is_news=True).count()
    return KpiValue(value=n, numerator=n, denominator=None, sample_size=n)


def kpi_mean_lead_time(city: City, period: Period) -> KpiValue:
    """Mean minutes between a warning's first publication and its onset (see the module docstring:
    rule warnings count as 0, late ones as 0, warnings without an onset are left out)."""
    rows = (
        _published_in(city, period)
        .filter(category__is_news=False)
        .filter(Q(source=W.Source.RULE) | Q(onset_at__isnull=False))
        .values_list("source", "published_at", "onset_at")
        .order_by()
    )
    leads = [
        0.0 if source == W.Source.RULE else max((onset - published).total_seconds(), 0.0) / 60
        for source, published, onset in rows
    ]
    if not leads:
        return _no_data("no warning with an onset was published in the period")
    total = sum(leads)
    return KpiValue(value=round(total / len(leads), 1), numerator=round(total, 1), denominator=len(leads),
                    sample_size=len(leads))


def kpi_median_fanout_seconds(city: City, period: Period) -> KpiValue:
    """Median seconds from a message being sent to the last inbox of its fan-out written."""
    rows = (
        _fanouts_in(city, period)
        .filter(status=Fanout.Status.DONE, finished_at__isnull=False)
        .values_list("message__sent_at", "finished_at")
        .order_by()
    )
    seconds = [max((finished - sent).total_seconds(), 0.0) for sent, finished in rows]
    if not seconds:
        return _no_data("no fan-out finished in the period")
    return KpiValue(value=round(percentile_cont(seconds, 0.5) or 0.0, 2), numerator=None,
                    denominator=len(seconds), sample_size=len(seconds),
                    note="median of seconds from publication to the last inbox written")


def _deliveries(city: City, period: Period) -> tuple[int, dict[str, int], int]:
    """Inbox notifications written, deliveries per other channel, and the number of fan-outs."""
    inbox, channels, n = 0, defaultdict(int), 0
    for written, queued in _fanouts_in(city, period).values_list("inbox", "channel_deliveries").order_by():
        n += 1
        inbox += written
        for channel, count in (queued or {}).items():
            channels[channel] += int(count)
    return inbox, dict(sorted(channels.items())), n


def kpi_deliveries(city: City, period: Period) -> KpiValue:
    """Deliveries of the period's messages: inbox notifications plus the other channels' deliveries."""
    inbox, channels, n = _deliveries(city, period)
    if not n:
        return _no_data("no message was sent in the period")
    total = inbox + sum(channels.values())
    detail = ", ".join([f"inbox {inbox}", *(f"{c} {k}" for c, k in channels.items())])
    return KpiValue(value=total, numerator=total, denominator=None, sample_size=n,
                    note=f"{detail} over {n} messages")


def kpi_delivery_reach(city: City, period: Period) -> KpiValue:
    """Share (%) of the subscribers targeted by the period's messages whose inbox received them."""
    figures = _fanouts_in(city, period).filter(status=Fanout.Status.DONE).aggregate(
        inbox=Sum("inbox"), targeted=Sum("targeted"), n=Count("id")
    )
    targeted, inbox = figures["targeted"] or 0, figures["inbox"] or 0
    if not targeted:
        return _no_data("no finished fan-out targeted anybody in the period")
    return KpiValue(value=round(100 * inbox / targeted, 2), numerator=inbox, denominator=targeted,
                    sample_size=figures["n"])


def kpi_area_reach(city: City, period: Period) -> KpiValue:
    """Share (%) of the people subscribed to the areas of the period's warnings that the warnings'
    first message reached (see the module docstring)."""
    warnings = dict(
        _published_in(city, period).filter(category__is_news=False).values_list("pk", "commune_codes")
    )
    if not warnings:
        return _no_data("no warning was published in the period")
    reached = dict(
        Fanout.objects.filter(city=city, message__warning_id__in=list(warnings), message__version=1)
        .values_list("message__warning_id", "inbox")
    )
    # People per commune once; a person subscribed to two communes of one area counts once for it.
    codes = sorted({code for area in warnings.values() for code in (area or [])})
    members: dict[str, set[int]] = defaultdict(set)
    for code, subscription_id in (
        SubscriptionArea.objects.filter(city=city, commune_code__in=codes, subscription__is_active=True)
        .values_list("commune_code", "subscription_id")
        .order_by()
    ):
        members[code].add(subscription_id)
    in_area = numerator = 0
    for pk, area in warnings.items():
        people = set().union(*(members[c] for c in area or []))
        in_area += len(people)
        numerator += min(reached.get(pk, 0), len(people))
    if not in_area:
        return _no_data("nobody is subscribed to the areas of the period's warnings")
    return KpiValue(value=round(100 * numerator / in_area, 2), numerator=numerator, denominator=in_area,
                    sample_size=len(warnings))


KPIS = (
    KpiCalculator(
        code="alerts.warnings_published", name=gettext_lazy("Warnings published"), unit="warnings",
        compute=kpi_warnings_published,
    ),
    KpiCalculator(
        code="alerts.news_published", name=gettext_lazy("News items published"), unit="items",
        compute=kpi_news_published,
    ),
    KpiCalculator(
        code="alerts.mean_lead_time", name=gettext_lazy("Mean warning lead time before onset"), unit="min",
        compute=kpi_mean_lead_time,
    ),
    KpiCalculator(
        code="alerts.median_fanout_seconds",
        name=gettext_lazy("Median time to deliver a warning to everyone"), unit="s",
        compute=kpi_median_fanout_seconds, higher_is_better=False,
    ),
    KpiCalculator(
        code="alerts.deliveries", name=gettext_lazy("Warning deliveries (inbox and other channels)"),
        unit="deliveries", compute=kpi_deliveries,
    ),
    KpiCalculator(
        code="alerts.delivery_reach", name=gettext_lazy("Targeted subscribers reached by warnings"),
        unit="%", compute=kpi_delivery_reach,
    ),
    KpiCalculator(
        code="alerts.area_reach", name=gettext_lazy("Subscribers in warned areas reached"), unit="%",
        compute=kpi_area_reach,
    ),
)


# --- Open dataset ---------------------------------------------------------------------------------------


def open_dataset_rows(city: City) -> Iterator[dict[str, Any]]:
    """Warnings and news per category × local month of first publication × commune of their area (a
    warning over three communes counts once in each). Counts only: warnings hold no personal data,
    and the open-data module still suppresses small groups before publication."""
    from dothi.core.models import Commune

    zone = ZoneInfo(city.time_zone)
    categories = {c.pk: c for c in AlertCategory.objects.for_city(city)}
    communes = dict(Commune.objects.filter(province_id=city.province_code).values_list("code", "name"))
    groups: dict[tuple[str, int, str], dict[str, int]] = defaultdict(
        lambda: {"count": 0, "automatic": 0, "cancelled": 0}
    )
    rows = (
        W.objects.for_city(city)
        .filter(status__in=PUBLISHED_STATUSES, published_at__isnull=False)
        .values_list("category_id", "published_at", "commune_codes", "source", "status")
        .order_by()
    )
    for category_id, published, codes, source, status in rows:
        month = published.astimezone(zone).strftime("%Y-%m")
        for code in sorted(set(codes or [])):
            g = groups[(month, category_id, code)]
            g["count"] += 1
            g["automatic"] += int(source == W.Source.RULE)
            g["cancelled"] += int(status == W.Status.CANCELLED)
    for month, category_id, code in sorted(groups, key=lambda k: (k[0], categories[k[1]].code, k[2])):
        category = categories[category_id]
        g = groups[(month, category_id, code)]
        yield {
            "month": month,
            "category_code": category.code,
            "category": category.name_vi,
            "category_en": category.name_en,
            "is_news": category.is_news,
            "commune_code": code,
            "commune": communes.get(code, ""),
            **g,
        }


DATASETS = (
    OpenDataset(
        code="alerts.warnings_per_category_month_commune",
        title=gettext_lazy("Warnings and news per category, month and commune"),
        description=gettext_lazy(
            "How many warnings and news items the city published per category, month and commune of the "
            "area they covered (a warning over several communes counts in each), how many were raised "
            "automatically by sensor rules and how many were cancelled. Counts only."
        ),
        rows=open_dataset_rows,
        count_field="count",
    ),
)

