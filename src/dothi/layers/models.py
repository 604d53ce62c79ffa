"""The urban spatial database (cơ sở dữ liệu không gian đô thị): a catalogue of layers per city, their
features, the changelog of imports, and population per commune (city data for per-capita and exposure
measures).

GeoDjango/SpatiaLite do not load everywhere dothi runs, so a feature's geometry is GeoJSON text in WGS84
with bounding-box columns for indexing. A bounding-box query uses the composite index
(layer, min_lon, min_lat): since a layer records the largest width and height of its features
(`max_feature_width` / `max_feature_height`, in degrees), "intersects [x1, x2] × [y1, y2]" becomes the
range `min_lon BETWEEN x1 - width AND x2` (and the same for latitude) plus `max_lon >= x1` and
`max_lat >= y1`, which both SQLite and PostgreSQL answer from the index.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from dothi.core.models import City, CityOwned, Commune, Organisation, localised


class Sector(models.TextChoices):
    BOUNDARIES = "boundaries", _("Administrative boundaries")
    PLANNING = "planning", _("Planning zones")
    PARCELS = "parcels", _("Land parcels")
    PERMITS = "permits", _("Construction permits")
    ROADS = "roads", _("Roads and traffic")
    LIGHTING = "lighting", _("Street lighting")
    DRAINAGE = "drainage", _("Drainage")
    WATER = "water", _("Water supply")
    TREES = "trees", _("Green trees")
    WASTE = "waste", _("Waste collection points")
    CEMETERIES = "cemeteries", _("Cemeteries")
    SCHOOLS = "schools", _("Schools")
    HEALTH = "health", _("Health facilities")
    FLOOD = "flood", _("Flood-prone areas")
    TRANSPORT = "transport", _("Public transport")
    OTHER = "other", pgettext_lazy("layer sector", "Other")


class Cadence(models.TextChoices):
    REALTIME = "realtime", _("Continuously")
    DAILY = "daily", _("Daily")
    WEEKLY = "weekly", _("Weekly")
    MONTHLY = "monthly", _("Monthly")
    QUARTERLY = "quarterly", _("Quarterly")
    YEARLY = "yearly", _("Yearly")
    IRREGULAR = "irregular", _("When it changes")


class GeometryKind(models.TextChoices):
    POINT = "point", _("Points")
    LINE = "line", _("Lines")
    POLYGON = "polygon", _("Areas")
    ANY = "any", _("Any geometry")


class LayerRole(models.TextChoices):
    """What the platform itself does with a layer beyond drawing it."""

    PLAIN = "", _("None")
    # Its polygons are the official commune boundaries: importing it replaces the approximate cells of
    # core.CommuneArea and re-assigns every located point of every module (Manifest.point_sets).
    COMMUNES = "communes", _("Official commune boundaries")
    # Lines whose length is the drainage network (EC: ICT: D: 1A).
    DRAINAGE = "drainage", _("Drainage network")
    # Polygons of zones subject to natural hazards (SC: SH: SA: 4A with the population data).
    FLOOD_PRONE = "flood_prone", _("Flood-prone zones")


class Layer(CityOwned):
    """One layer of the city's catalogue. `schema` lists the attributes every feature must carry:
    `[{"code": "ten", "label_vi": "Tên", "label_en": "Name", "type": "str"|"int"|"float"|"bool"|"date",
    "required": true, "choices": [...]}]` (choices optional). `name_attribute` names the attribute shown
    as a feature's title and searched by the place search."""

    code = models.SlugField(_("code"), max_length=60)
    name_vi = models.CharField(_("name (Vietnamese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    description_vi = models.TextField(_("description (Vietnamese)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    sector = models.CharField(_("sector"), max_length=20, choices=Sector.choices, default=Sector.OTHER)
    role = models.CharField(_("role"), max_length=20, choices=LayerRole.choices, default="", blank=True)
    owner = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.SET_NULL, related_name="layers",
        verbose_name=_("owner agency"),
    )
    cadence = models.CharField(_("update cadence"), max_length=20, choices=Cadence.choices,
                               default=Cadence.IRREGULAR)
    licence = models.CharField(_("licence"), max_length=60, default="CC-BY-4.0")
    is_public = models.BooleanField(_("public"), default=False,
                                    help_text=_("Public layers are on the public map and in open data."))
    geometry_kind = models.CharField(_("geometry"), max_length=10, choices=GeometryKind.choices,
                                     default=GeometryKind.ANY)
    schema = models.JSONField(_("attribute schema"), default=list, blank=True)
    name_attribute = models.CharField(_("name attribute"), max_length=60, blank=True)
    colour = models.CharField(_("colour"), max_length=7, default="#3366cc")
    order = models.PositiveIntegerField(_("order"), default=100)
    # Maintained by the import service.
    feature_count = models.PositiveIntegerField(_("features"), default=0)
    min_lon = models.FloatField(null=True, blank=True)
    min_lat = models.FloatField(null=True, blank=True)
    max_lon = models.FloatField(null=True, blank=True)
    max_lat = models.FloatField(null=True, blank=True)
    max_feature_width = models.FloatField(default=0.0)  # degrees of longitude
    max_feature_height = models.FloatField(default=0.0)  # degrees of latitude
    total_length_m = models.FloatField(_("total length (m)"), default=0.0)
    total_area_m2 = models.FloatField(_("total area (m²)"), default=0.0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(_("last import"), null=True, blank=True)

    class Meta:
        verbose_name = _("layer")
        verbose_name_plural = _("layers")
        ordering = ["order", "code"]
        constraints = [models.UniqueConstraint(fields=["city", "code"], name="layers_layer_city_code")]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return localised(self.name_vi, self.name_en)

    @property
    def description(self) -> str:
        return localised(self.description_vi, self.description_en)


class Feature(CityOwned):
    """One feature of a layer. `geometry` is the GeoJSON geometry as text (WGS84, 1e-6° precision),
    served as it is stored; `properties` are the validated attributes. `commune` is the commune holding
    the feature's representative point (its point, else a point on its surface), re-assigned when
    official boundaries arrive. `fid` is the feature's identifier in its source (unique in the layer)."""

    layer = models.ForeignKey(Layer, on_delete=models.CASCADE, related_name="features")
    fid = models.CharField(_("feature id"), max_length=80)
    name = models.CharField(_("name"), max_length=200, blank=True)
    # Accent-free, lower-case `name` for the place search ("Trường Tiểu học" -> "truong tieu hoc").
    name_key = models.CharField(max_length=200, blank=True, db_index=True)
    geometry = models.TextField(_("geometry (GeoJSON)"))
    geom_type = models.CharField(max_length=20)
    properties = models.JSONField(_("attributes"), default=dict, blank=True)
    min_lon = models.FloatField()
    min_lat = models.FloatField()
    max_lon = models.FloatField()
    max_lat = models.FloatField()
    # Representative point (a point on the surface) for pins, clustering and the commune.
    lon = models.FloatField()
    lat = models.FloatField()
    commune = models.ForeignKey(Commune, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    length_m = models.FloatField(default=0.0)
    area_m2 = models.FloatField(default=0.0)

    class Meta:
        verbose_name = _("feature")
        verbose_name_plural = _("features")
        constraints = [models.UniqueConstraint(fields=["layer", "fid"], name="layers_feature_layer_fid")]
        indexes = [
            models.Index(fields=["layer", "min_lon", "min_lat"], name="layers_feat_bbox"),
            models.Index(fields=["layer", "commune"], name="layers_feat_commune"),
        ]

    def __str__(self) -> str:
        return self.name or self.fid


class LayerImport(CityOwned):
    """The changelog of a layer: one row per import attempt, accepted or rejected."""

    class Format(models.TextChoices):
        GEOJSON = "geojson", "GeoJSON"
        CSV = "csv", "CSV"
        SHAPEFILE = "shapefile", _("Shapefile (zip)")

    class Mode(models.TextChoices):
        REPLACE = "replace", _("Replace every feature")
        UPSERT = "upsert", _("Add and update by feature id")

    class Status(models.TextChoices):
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Rejected")

    layer = models.ForeignKey(Layer, on_delete=models.CASCADE, related_name="imports")
    at = models.DateTimeField(_("at"), auto_now_add=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    filename = models.CharField(_("file"), max_length=200, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    format = models.CharField(_("format"), max_length=20, choices=Format.choices)
    mode = models.CharField(_("mode"), max_length=20, choices=Mode.choices, default=Mode.REPLACE)
    srid = models.PositiveIntegerField(_("coordinate system (EPSG)"), default=4326)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices)
    added = models.PositiveIntegerField(_("added"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    removed = models.PositiveIntegerField(_("removed"), default=0)
    # For a rejected file: where (line or feature number, 1-based) and why, in the actor's language.
    error_at = models.CharField(_("where"), max_length=60, blank=True)
    error = models.TextField(_("reason"), blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    # For a communes layer: how many located points each module re-assigned ({"reports.report": 12}).
    reassigned = models.JSONField(_("points re-assigned"), default=dict, blank=True)

    class Meta:
        verbose_name = _("layer import")
        verbose_name_plural = _("layer imports")
        ordering = ["-at", "-pk"]


class CommunePopulation(CityOwned):
    """Population of a commune in a year (city data, imported from CSV): for per-capita measures and
    the share of people living in flood-prone zones."""

    commune = models.ForeignKey(Commune, on_delete=models.CASCADE, related_name="+")
    year = models.PositiveSmallIntegerField(_("year"))
    population = models.PositiveIntegerField(_("population"))
    households = models.PositiveIntegerField(_("households"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=200, blank=True)
    imported_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("commune population")
        verbose_name_plural = _("commune populations")
        ordering = ["commune", "-year"]
        constraints = [
            models.UniqueConstraint(fields=["city", "commune", "year"], name="layers_population_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.commune_id} {self.year}: {self.population}"


__all__ = ["City", "CommunePopulation", "Feature", "Layer", "LayerImport"]
