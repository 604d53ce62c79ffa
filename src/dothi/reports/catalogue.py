"""A city's report categories (with their questions), routing rules and communes, read on every
submission, preview and public filter, kept per process (`core.memo.ProcessMemo`: cleared at once by a
change in this process, re-read by other worker processes within ten seconds)."""

from __future__ import annotations

from dataclasses import dataclass

from dothi.core.memo import ProcessMemo
from dothi.core.models import City, Commune, CommuneArea, Organisation
from dothi.core.selectors import communes_of_city
from dothi.reports.models import Category, CategoryAttribute, RoutingRule

_memo = ProcessMemo("reports.catalogue")


@dataclass(frozen=True)
class Catalogue:
    categories: dict[str, Category]  # by code, inactive ones included; questions prefetched
    rules: dict[tuple[int, str | None], Organisation]  # (category id, commune code or None) → agency
    communes: list[Commune]  # the city's communes (code and name), for filters

    def active_categories(self) -> list[Category]:
        """In display order."""
        return sorted((c for c in self.categories.values() if c.is_active), key=lambda c: (c.order, c.code))


def _load(city: City) -> Catalogue:
    categories = {
        c.code: c for c in Category.objects.filter(city_id=city.pk).prefetch_related("attributes")
    }
    rules = {
        (r.category_id, r.commune_id): r.agency
        for r in RoutingRule.objects.filter(city_id=city.pk).select_related("agency")
    }
    communes = list(communes_of_city(city).only("code", "name"))
    return Catalogue(categories=categories, rules=rules, communes=communes)


def for_city(city: City | int) -> Catalogue:
    """The city's catalogue; `city` may be a City or its id."""
    city_id = getattr(city, "pk", city)
    return _memo.get(
        city_id, lambda: _load(city if isinstance(city, City) else City.objects.get(pk=city_id))
    )


def watch() -> None:
    """Clear the copies when categories, questions, rules, agencies or commune boundaries change
    (ReportsConfig.ready)."""
    _memo.clear_on_change(Category, CategoryAttribute, RoutingRule, Organisation, CommuneArea)
