"""The control centre's demo data, seeded last (after every module whose conditions it sweeps): one
sweep raises the alarms the demo's data holds (the automatic flood warning, overdue reports, silent
sensors, as the modules report them), then the demo operator works a little of the shift: acknowledges
the worst alarm, writes a few incident-log entries, and hands the shift over to whoever comes next.

Deterministic apart from what the other modules' demos hold; times are the clock's (the log stamps
its own), which is what an operator would see when starting the demo."""

from __future__ import annotations

import datetime as dt
import random

from django.contrib.auth import get_user_model

from dothi.core.models import City
from dothi.ioc import selectors, services
from dothi.ioc.models import Alarm, IncidentEntry

OPERATOR = "vanhanh"  # the core demo's operator (dothi.core.demo.STAFF)

LOG = [
    (IncidentEntry.Kind.NOTE, "Nhận ca. Kiểm tra màn hình giám sát: cảm biến, phản ánh, cảnh báo."),
    (IncidentEntry.Kind.CALL, "Gọi Ban Chỉ huy PCTT xác nhận tình hình ngập tại các tuyến đường trũng."),
    (IncidentEntry.Kind.ACTION, "Đề nghị Sở Xây dựng cử đội kiểm tra các phản ánh quá hạn trên địa bàn."),
    (IncidentEntry.Kind.DECISION, "Duy trì theo dõi mực nước sông Hàn mỗi 15 phút cho đến hết ca."),
]
HANDOVER_NOTES = (
    "Bàn giao ca: cảnh báo ngập đường phố vẫn còn hiệu lực, đã báo Ban Chỉ huy PCTT. "
    "Các phản ánh quá hạn đã chuyển Sở Xây dựng; ca sau tiếp tục theo dõi mực nước."
)


def seed(*, city: City, rng: random.Random, now: dt.datetime) -> None:
    operator = get_user_model().objects.filter(username=OPERATOR, memberships__city=city).first()
    services.sweep(city, now=now)
    if operator is None:
        return
    worst = selectors.alarms(city, status="active", page=1, page_size=1).object_list
    for alarm in worst:
        if alarm.status == Alarm.Status.OPEN:
            services.alarm_acknowledge(actor=operator, alarm=alarm)
    for kind, text in LOG:
        services.log_add(actor=operator, city=city, kind=kind, text=text)
    services.handover_create(actor=operator, city=city, notes=HANDOVER_NOTES)
