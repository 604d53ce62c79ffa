"""Public-service appointments (đặt lịch làm việc): offices, their counters and opening hours, the
services they provide, closed days, the bookable slots generated from them, and bookings.

Capacity is enforced by the database: `Slot.booked` moves only through conditional UPDATEs
(`booked < capacity`) and a CHECK constraint (0 <= booked <= capacity) backs them up; a partial unique
constraint allows one active booking per person and service. See dothi.appointments.services.
"""

from __future__ import annotations

from datetime import time

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dothi.core.models import CityOwned, Commune, Organisation, localised

# Monday=0 … Sunday=6 -> [opening, closing] in local time; a weekday missing is a closed day.
DEFAULT_OPENING_HOURS = {str(d): ["07:30", "17:00"] for d in range(5)}
DEFAULT_LUNCH = (time(11, 30), time(13, 30))


def default_opening_hours() -> dict[str, list[str]]:
    return {k: list(v) for k, v in DEFAULT_OPENING_HOURS.items()}


class Office(CityOwned):
    """A public-service office (one-stop shop, commune office, police residence office)."""

    code = models.SlugField(_("code"), max_length=60)
    name_vi = models.CharField(_("name (Vietnamese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    lat = models.FloatField(_("latitude"))
    lon = models.FloatField(_("longitude"))
    commune = models.ForeignKey(
        Commune, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("commune")
    )
    # The agency running the office: its staff and managers serve at its counters.
    agency = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="offices",
        verbose_name=_("agency"),
    )
    opening_hours = models.JSONField(
        _("opening hours"),
        default=default_opening_hours,
        blank=True,
        help_text=_('Per weekday (0 = Monday … 6 = Sunday): ["07:30", "17:00"]. A missing day is closed.'),
    )
    lunch_start = models.TimeField(_("lunch break starts"), null=True, blank=True, default=DEFAULT_LUNCH[0])
    lunch_end = models.TimeField(_("lunch break ends"), null=True, blank=True, default=DEFAULT_LUNCH[1])
    slot_minutes = models.PositiveSmallIntegerField(_("slot length (minutes)"), default=15)
    phone = models.CharField(_("public phone"), max_length=30, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("office")
        verbose_name_plural = _("offices")
        ordering = ["city", "name_vi"]
        constraints = [
            models.UniqueConstraint(fields=["city", "code"], name="office_code_per_city"),
            models.CheckConstraint(
                condition=models.Q(slot_minutes__gte=5, slot_minutes__lte=240), name="office_slot_5_to_240"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return localised(self.name_vi, self.name_en)


class Service(CityOwned):
    """An administrative procedure people book a time for (cấp đổi CCCD, đăng ký khai sinh, …)."""

    code = models.SlugField(_("code"), max_length=60)
    name_vi = models.CharField(_("name (Vietnamese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    description_vi = models.TextField(_("description (Vietnamese)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    duration_minutes = models.PositiveSmallIntegerField(_("duration (minutes)"), default=15)
    # What to bring: lists of short texts, one per document.
    documents_vi = models.JSONField(_("required documents (Vietnamese)"), default=list, blank=True)
    documents_en = models.JSONField(_("required documents (English)"), default=list, blank=True)
    agency = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("agency"),
    )
    max_days_ahead = models.PositiveSmallIntegerField(_("bookable days ahead"), default=14)
    cancel_cutoff_hours = models.PositiveSmallIntegerField(
        _("cancel or reschedule until (hours before)"), default=2
    )
    is_active = models.BooleanField(_("active"), default=True)
    order = models.PositiveSmallIntegerField(_("order"), default=100)

    class Meta:
        verbose_name = _("public service")
        verbose_name_plural = _("public services")
        ordering = ["city", "order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["city", "code"], name="appt_service_code_per_city"),
            models.CheckConstraint(
                condition=models.Q(duration_minutes__gte=5, duration_minutes__lte=480),
                name="appt_service_duration_5_to_480",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return localised(self.name_vi, self.name_en)

    @property
    def description(self) -> str:
        return localised(self.description_vi, self.description_en)

    @property
    def documents(self) -> list[str]:
        english = localised("vi", "en") == "en"
        return list((self.documents_en if english and self.documents_en else self.documents_vi) or [])


class Counter(CityOwned):
    """A service desk of an office; the services it can serve decide the slots' capacity."""

    office = models.ForeignKey(
        Office, on_delete=models.CASCADE, related_name="counters", verbose_name=_("office")
    )
    number = models.PositiveSmallIntegerField(_("number"))
    name = models.CharField(_("name"), max_length=120, blank=True)
    services = models.ManyToManyField(
        Service, blank=True, related_name="counters", verbose_name=_("services")
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("counter")
        verbose_name_plural = _("counters")
        ordering = ["office", "number"]
        constraints = [models.UniqueConstraint(fields=["office", "number"], name="counter_number_per_office")]

    def __str__(self) -> str:
        label = _("Counter %(number)s") % {"number": self.number}
        return f"{label} · {self.name}" if self.name else str(label)


class ClosedDay(CityOwned):
    """A day an office (or, without an office, every office of the city) is closed, on top of the
    public holidays of the city's working calendar (dothi.core.calendar)."""

    office = models.ForeignKey(
        Office,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="closed_days",
        verbose_name=_("office"),
    )
    day = models.DateField(_("day"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("closed day")
        verbose_name_plural = _("closed days")
        ordering = ["day"]
        constraints = [
            models.UniqueConstraint(fields=["city", "office", "day"], name="closed_day_once"),
            models.UniqueConstraint(
                fields=["city", "day"],
                condition=models.Q(office__isnull=True),
                name="closed_day_citywide_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day:%Y-%m-%d} · {self.office or _('every office')}"


class Slot(CityOwned):
    """A bookable time of one service at one office. `capacity` = the office's active counters able to
    serve the service; `booked` never exceeds it (CHECK constraint and conditional UPDATEs)."""

    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="slots")
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="slots")
    start = models.DateTimeField(_("starts"))
    end = models.DateTimeField(_("ends"))
    capacity = models.PositiveSmallIntegerField(_("capacity"))
    booked = models.PositiveSmallIntegerField(_("booked"), default=0)

    class Meta:
        verbose_name = _("slot")
        verbose_name_plural = _("slots")
        ordering = ["start"]
        # The unique (office, service, start) index also serves the free-slot lookups.
        constraints = [
            models.CheckConstraint(
                condition=models.Q(booked__lte=models.F("capacity")), name="slot_not_overbooked"
            ),
            models.CheckConstraint(condition=models.Q(booked__gte=0), name="slot_booked_not_negative"),
            models.CheckConstraint(
                condition=models.Q(end__gt=models.F("start")), name="slot_ends_after_start"
            ),
            models.UniqueConstraint(fields=["office", "service", "start"], name="slot_once"),
        ]

    def __str__(self) -> str:
        return f"{self.office_id}/{self.service_id} {self.start:%Y-%m-%d %H:%M} {self.booked}/{self.capacity}"

    @property
    def free(self) -> int:
        return max(self.capacity - self.booked, 0)


class BookingStatus(models.TextChoices):
    BOOKED = "booked", _("Booked")
    CHECKED_IN = "checked_in", _("Checked in")
    CALLED = "called", _("Called")
    SERVING = "serving", _("Being served")
    SERVED = "served", _("Served")
    NO_SHOW = "no_show", _("Did not come")
    CANCELLED = "cancelled", _("Cancelled")


# A booking in one of these holds its place (and counts as the person's one booking for the service).
ACTIVE_STATUSES = (
    BookingStatus.BOOKED,
    BookingStatus.CHECKED_IN,
    BookingStatus.CALLED,
    BookingStatus.SERVING,
)
# Waiting in the office's queue, in arrival order.
WAITING_STATUSES = (BookingStatus.CHECKED_IN,)


class BookingChannel(models.TextChoices):
    APP = "app", _("Citizen app")
    API = "api", _("API")
    COUNTER = "counter", _("At the counter (walk-in)")


class Booking(CityOwned):
    """A booked visit (or a walk-in taken at the office) and its way through the queue.

    Wait time = called_at − arrived_at; service time = finished_at − called_at."""

    code = models.CharField(_("booking code"), max_length=12)
    citizen = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="appointments",
        verbose_name=_("citizen"),
    )
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="bookings")
    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="bookings")
    slot = models.ForeignKey(Slot, null=True, blank=True, on_delete=models.PROTECT, related_name="bookings")
    # The local day of the visit: the slot's day, or the walk-in's arrival day (queues are per day).
    day = models.DateField(_("day"))
    status = models.CharField(
        _("status"), max_length=12, choices=BookingStatus.choices, default=BookingStatus.BOOKED
    )
    walk_in = models.BooleanField(_("walk-in"), default=False)
    # A walk-in needs no account: an optional name, and a phone kept only encrypted.
    walk_in_name = models.CharField(_("name"), max_length=120, blank=True)
    walk_in_phone_enc = models.TextField(blank=True)
    counter = models.ForeignKey(
        Counter, null=True, blank=True, on_delete=models.SET_NULL, related_name="bookings"
    )
    queue_number = models.PositiveIntegerField(_("queue number"), null=True, blank=True)
    channel = models.CharField(
        _("channel"), max_length=10, choices=BookingChannel.choices, default=BookingChannel.APP
    )
    idempotency_key = models.CharField(max_length=100, null=True, blank=True)
    created_at = models.DateTimeField(_("booked at"), default=timezone.now, db_index=True)
    arrived_at = models.DateTimeField(_("arrived at"), null=True, blank=True)
    called_at = models.DateTimeField(_("called at"), null=True, blank=True)
    served_at = models.DateTimeField(_("service started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    no_show_at = models.DateTimeField(_("marked absent at"), null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    reschedule_count = models.PositiveSmallIntegerField(default=0)
    served_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("booking")
        verbose_name_plural = _("bookings")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["office", "day", "status"], name="booking_office_day"),
            models.Index(fields=["city", "day"], name="booking_city_day"),
            models.Index(fields=["citizen", "status"], name="booking_citizen_status"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["city", "code"], name="booking_code_per_city"),
            models.UniqueConstraint(
                fields=["citizen", "service"],
                condition=models.Q(citizen__isnull=False, status__in=[s.value for s in ACTIVE_STATUSES]),
                name="one_active_booking_per_service",
            ),
            models.UniqueConstraint(
                fields=["city", "citizen", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="booking_idempotent_per_citizen",
            ),
            models.UniqueConstraint(
                fields=["office", "day", "queue_number"],
                condition=models.Q(queue_number__isnull=False),
                name="queue_number_once_per_office_day",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def wait_seconds(self) -> float | None:
        if self.arrived_at is None or self.called_at is None:
            return None
        return (self.called_at - self.arrived_at).total_seconds()

    @property
    def service_seconds(self) -> float | None:
        if self.called_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.called_at).total_seconds()
