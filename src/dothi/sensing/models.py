"""Sensing: the quantity catalogue, the sensor registry (cameras included), data sources and their
ingestion keys, raw observations, hourly and daily rollups, the latest value per sensor and quantity,
and the rejection counters.

The raw, rollup and latest tables have composite primary keys (no id column, no sequence): the key is
what makes re-sending an observation change nothing, and one index less is what keeps bulk ingestion
fast. They are written by `dothi.sensing.ingestion` with SQL (COPY and upserts), never row by row
through the ORM; the ORM reads them.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import URLValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dothi.core.models import Agreement, City, CityOwned, Commune, Organisation, localised

# Cameras stream over HTTP(S) (HLS, MJPEG) or RTSP.
STREAM_SCHEMES = ["http", "https", "rtsp", "rtsps"]


class Quantity(models.Model):
    """Something a sensor measures (PM2.5, water level…), with its unit and the physical range outside
    which a value is impossible and rejected. Global rows (no city) are the catalogue every city starts
    with; a city's own row with the same code overrides the global one for that city."""

    city = models.ForeignKey(
        City,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        verbose_name=_("city"),
        help_text=_("Empty: available to every city."),
    )
    code = models.SlugField(_("code"), max_length=40)
    name_vi = models.CharField(_("name (Vietnamese)"), max_length=120)
    name_en = models.CharField(_("name (English)"), max_length=120, blank=True)
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    min_value = models.FloatField(_("physical minimum"))
    max_value = models.FloatField(_("physical maximum"))
    # How values combine over time in charts and aggregates: most are means; rainfall and vehicle
    # counts per interval are better summed (the rollups keep both the sum and the count).
    summed = models.BooleanField(
        _("summed over time"),
        default=False,
        help_text=_("Show totals rather than means over an hour or a day (rainfall, vehicle counts)."),
    )
    decimals = models.PositiveSmallIntegerField(_("decimals shown"), default=1)
    order = models.PositiveSmallIntegerField(_("order"), default=100)

    class Meta:
        verbose_name = _("quantity")
        verbose_name_plural = _("quantities")
        ordering = ["order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["city", "code"], name="quantity_code_per_city"),
            models.UniqueConstraint(
                fields=["code"], condition=models.Q(city__isnull=True), name="quantity_code_global"
            ),
            models.CheckConstraint(
                condition=models.Q(min_value__lt=models.F("max_value")), name="quantity_range_ordered"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.unit})" if self.unit else self.name

    @property
    def name(self) -> str:
        return localised(self.name_vi, self.name_en)


class DataSource(CityOwned):
    """Where observations come from: a platform, a gateway, a vendor's system, a CSV import. Ingestion
    keys are issued per source, and rejections are counted per source."""

    name = models.SlugField(_("name"), max_length=60)
    description = models.CharField(_("description"), max_length=300, blank=True)
    organisation = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        verbose_name=_("organisation"),
        help_text=_("Who runs this source; sensors it registers are owned by this organisation."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("data source")
        verbose_name_plural = _("data sources")
        ordering = ["city", "name"]
        constraints = [models.UniqueConstraint(fields=["city", "name"], name="data_source_name_per_city")]

    def __str__(self) -> str:
        return self.name


class IngestKey(CityOwned):
    """A key a data source sends as `Authorization: Bearer <key>` to write observations. Only its
    SHA-256 is stored (the key is 256 random bits, so a keyed or slow hash would add nothing); the
    plaintext is shown once, when it is issued."""

    source = models.ForeignKey(
        DataSource, on_delete=models.CASCADE, related_name="keys", verbose_name=_("data source")
    )
    prefix = models.CharField(_("key prefix"), max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        verbose_name = _("ingestion key")
        verbose_name_plural = _("ingestion keys")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.source} ({self.prefix}…)"


class Sensor(CityOwned):
    """A device (or a camera) at a place. Its `code` is what devices and platforms send."""

    class Kind(models.TextChoices):
        AIR = "air", _("Air quality")
        WATER = "water", _("Water level and rainfall")
        WEATHER = "weather", _("Weather")
        TRAFFIC = "traffic", _("Traffic count")
        NOISE = "noise", _("Noise")
        CAMERA = "camera", _("Camera")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        OFFLINE = "offline", _("Offline")
        RETIRED = "retired", _("Retired")

    code = models.CharField(_("code"), max_length=100)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    quantities = models.ManyToManyField(
        Quantity, blank=True, related_name="sensors", verbose_name=_("quantities")
    )
    lat = models.FloatField(_("latitude"))
    lon = models.FloatField(_("longitude"))
    commune = models.ForeignKey(
        Commune, null=True, blank=True, on_delete=models.SET_NULL, verbose_name=_("commune")
    )
    owner = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sensors",
        verbose_name=_("owner"),
    )
    # Privately owned sensors and cameras (an enterprise's, a resident group's) are registered under the
    # data-sharing agreement that says what is shared, with whom and until when.
    agreement = models.ForeignKey(
        Agreement,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="sensors",
        verbose_name=_("data-sharing agreement"),
    )
    source = models.ForeignKey(
        DataSource,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sensors",
        verbose_name=_("registered by"),
    )
    is_public = models.BooleanField(
        _("public"),
        default=True,
        help_text=_("Its data is shown to everyone. Otherwise only staff see it (sensing.read_private)."),
    )
    expected_interval_seconds = models.PositiveIntegerField(_("expected interval (seconds)"), default=300)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE)
    last_seen_at = models.DateTimeField(_("last seen"), null=True, blank=True)
    # Cameras: where they are and what they look at, and where their stream is; never video here.
    view_description = models.CharField(_("view"), max_length=300, blank=True)
    stream_url = models.CharField(
        _("stream address"), max_length=500, blank=True, validators=[URLValidator(schemes=STREAM_SCHEMES)]
    )
    description = models.TextField(_("description"), blank=True)
    # Anything else a device or an NGSI-LD entity carries (model, firmware, height above ground…).
    properties = models.JSONField(_("properties"), default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("sensor")
        verbose_name_plural = _("sensors")
        ordering = ["city", "code"]
        constraints = [models.UniqueConstraint(fields=["city", "code"], name="sensor_code_per_city")]
        indexes = [models.Index(fields=["city", "kind", "status"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Observation(models.Model):
    """One value of one quantity at one sensor at one time (the raw table). Written only by
    `dothi.sensing.ingestion`; on PostgreSQL it may be partitioned by month (docs/modules/sensing.md)."""

    pk = models.CompositePrimaryKey("sensor_id", "quantity_id", "time")
    sensor = models.ForeignKey(
        Sensor, on_delete=models.CASCADE, db_constraint=False, db_index=False, related_name="+"
    )
    quantity = models.ForeignKey(
        Quantity, on_delete=models.CASCADE, db_constraint=False, db_index=False, related_name="+"
    )
    time = models.DateTimeField(_("time"))
    value = models.FloatField(_("value"))

    class Meta:
        verbose_name = _("observation")
        verbose_name_plural = _("observations")

    def __str__(self) -> str:
        return f"{self.sensor_id}/{self.quantity_id} {self.time:%Y-%m-%d %H:%M:%S} = {self.value:g}"


class _Rollup(models.Model):
    sensor = models.ForeignKey(
        Sensor, on_delete=models.CASCADE, db_constraint=False, db_index=False, related_name="+"
    )
    quantity = models.ForeignKey(
        Quantity, on_delete=models.CASCADE, db_constraint=False, db_index=False, related_name="+"
    )
    bucket = models.DateTimeField(_("bucket start"))
    count = models.PositiveIntegerField(_("count"))
    sum = models.FloatField(_("sum"))
    min = models.FloatField(_("minimum"))
    max = models.FloatField(_("maximum"))

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.sensor_id}/{self.quantity_id} {self.bucket:%Y-%m-%d %H:%M} n={self.count}"

    @property
    def mean(self) -> float:
        return self.sum / self.count


class HourlyRollup(_Rollup):
    """Count, sum, minimum and maximum of a sensor's quantity over one UTC hour (mean = sum / count),
    updated in the transaction that stores the observations."""

    pk = models.CompositePrimaryKey("sensor_id", "quantity_id", "bucket")

    class Meta:
        verbose_name = _("hourly rollup")
        verbose_name_plural = _("hourly rollups")


class DailyRollup(_Rollup):
    """The same over one day of the city's local calendar (`bucket` is the local midnight)."""

    pk = models.CompositePrimaryKey("sensor_id", "quantity_id", "bucket")

    class Meta:
        verbose_name = _("daily rollup")
        verbose_name_plural = _("daily rollups")


class Latest(models.Model):
    """The most recent value of each quantity at each sensor (the map reads this, not the raw table)."""

    pk = models.CompositePrimaryKey("sensor_id", "quantity_id")
    sensor = models.ForeignKey(
        Sensor, on_delete=models.CASCADE, db_constraint=False, db_index=False, related_name="latest"
    )
    quantity = models.ForeignKey(
        Quantity, on_delete=models.CASCADE, db_constraint=False, db_index=False, related_name="+"
    )
    time = models.DateTimeField(_("time"))
    value = models.FloatField(_("value"))

    class Meta:
        verbose_name = _("latest value")
        verbose_name_plural = _("latest values")

    def __str__(self) -> str:
        return f"{self.sensor_id}/{self.quantity_id} {self.time:%Y-%m-%d %H:%M:%S} = {self.value:g}"


class RejectionCount(CityOwned):
    """How many items a source sent that were rejected, per reason code, with the last example."""

    source = models.ForeignKey(
        DataSource, on_delete=models.CASCADE, related_name="rejections", verbose_name=_("data source")
    )
    code = models.CharField(_("reason"), max_length=40)
    count = models.PositiveBigIntegerField(_("count"), default=0)
    first_at = models.DateTimeField(_("first"), default=timezone.now)
    last_at = models.DateTimeField(_("last"), default=timezone.now)
    last_message = models.CharField(_("last message"), max_length=300, blank=True)
    last_item = models.CharField(_("last item"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("rejection counter")
        verbose_name_plural = _("rejection counters")
        ordering = ["-last_at"]
        constraints = [models.UniqueConstraint(fields=["source", "code"], name="rejection_per_source_code")]

    def __str__(self) -> str:
        return f"{self.source} · {self.code}: {self.count}"
