"""The appointments admin: city administrators configure their own city; saving a closed day or a
counter regenerates the slots; slots and bookings are read-only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from dothi.appointments.models import ClosedDay, Counter, Office
from dothi.core.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, ax):
    client.force_login(ax.cast["city_admin"])
    client.cookies["dothi_language"] = "en"
    return client


def test_changelists_render(ax, book, admin_client):
    booking = book()
    for model in ("office", "counter", "service", "closedday", "slot", "booking"):
        assert admin_client.get(reverse(f"admin:appointments_{model}_changelist")).status_code == 200, model
    assert (
        admin_client.get(reverse("admin:appointments_office_change", args=[ax.office.pk])).status_code == 200
    )
    page = admin_client.get(reverse("admin:appointments_booking_change", args=[booking.pk]))
    assert page.status_code == 200 and booking.code in page.content.decode()
    assert admin_client.get(reverse("admin:appointments_slot_add")).status_code == 403
    assert admin_client.get(reverse("admin:appointments_booking_add")).status_code == 403


def test_city_admin_sees_only_their_city(ax, admin_client, other_city):
    Office.objects.create(city=other_city, code="q1", name_vi="Quận 1 HCM", lat=10.77, lon=106.70)
    body = admin_client.get(reverse("admin:appointments_office_changelist")).content.decode()
    assert "Trung tâm Phục vụ" in body and "Quận 1 HCM" not in body


def test_closing_a_day_in_the_admin_regenerates_slots(ax, admin_client):
    assert ax.slot(ax.cccd).capacity == 2
    response = admin_client.post(
        reverse("admin:appointments_closedday_add"),
        {"city": ax.city.pk, "office": ax.office.pk, "day": ax.day.isoformat(), "reason": "Kiểm kê"},
    )
    assert response.status_code == 302, response.content[:2000]
    assert ClosedDay.objects.filter(office=ax.office, day=ax.day).exists()
    from dothi.appointments.models import Slot

    with pytest.raises(Slot.DoesNotExist):  # nobody had booked: the day's slots are gone
        ax.slot(ax.cccd)
    assert AuditEvent.objects.filter(object_type="appointments.closedday").exists()


def test_deactivating_a_counter_in_the_admin_lowers_capacity(ax, admin_client):
    counter = Counter.objects.get(pk=ax.counter2.pk)
    response = admin_client.post(
        reverse("admin:appointments_counter_change", args=[counter.pk]),
        {"city": ax.city.pk, "office": ax.office.pk, "number": 2, "name": "", "services": [ax.cccd.pk]},
    )
    assert response.status_code == 302, response.content[:2000]
    assert ax.slot(ax.cccd).capacity == 1
