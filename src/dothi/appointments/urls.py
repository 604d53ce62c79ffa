"""Pages of the appointments module under /appointments/ (namespace "appointments").

The page views (citizen booking flow, staff counter screens, the public "now serving" screen) live in
views.py, owned by the UI work; their routes are added here. The JSON API is mounted separately at
/api/v1/appointments/ (dothi.appointments.api).
"""

from django.urls import path

from dothi.appointments import views

app_name = "appointments"

urlpatterns: list = [
    # The citizen's booking flow: service -> office -> day and time -> confirm.
    path("", views.home, name="home"),
    path("s/<slug:service>/", views.offices, name="offices"),
    path("s/<slug:service>/o/<slug:office>/", views.slots, name="slots"),
    path("confirm/<int:slot>/", views.confirm, name="confirm"),
    # The citizen's bookings.
    path("mine/", views.mine, name="mine"),
    path("b/<str:code>/", views.detail, name="detail"),
    path("b/<str:code>/qr.svg", views.qr, name="qr"),
    path("b/<str:code>/appointment.ics", views.ics, name="ics"),
    path("b/<str:code>/cancel/", views.cancel, name="cancel"),
    path("b/<str:code>/reschedule/", views.reschedule, name="reschedule"),
    path("b/<str:code>/rate/", views.rate, name="rate"),
    # Staff: the counter screen and its actions.
    path("desk/", views.desk, name="desk"),
    path("desk/<slug:office>/<int:counter>/", views.counter, name="counter"),
    path("desk/<slug:office>/<int:counter>/check-in/", views.check_in, name="check_in"),
    path("desk/<slug:office>/<int:counter>/call-next/", views.call_next, name="call_next"),
    path("desk/<slug:office>/<int:counter>/walk-in/", views.walk_in, name="walk_in"),
    path(
        "desk/<slug:office>/<int:counter>/b/<str:code>/<slug:action>/",
        views.booking_action,
        name="booking_action",
    ),
    # Public: the office's "now serving" screen and the board it polls.
    path("office/<slug:office>/now/", views.now_serving, name="now_serving"),
    path("office/<slug:office>/now/board/", views.now_serving_board, name="now_serving_board"),
]
