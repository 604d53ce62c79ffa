"""Pages of the control centre under /ioc/ (staff only; see views.py)."""

from django.urls import path

from dothi.ioc import views

app_name = "ioc"

urlpatterns: list = [
    path("", views.screen, name="screen"),
    path("panels/<str:code>.json", views.panel_json, name="panel"),
    path("alarms/", views.alarms, name="alarms"),
    path("alarms/fragment/", views.alarms_fragment, name="alarms_fragment"),
    path("alarms/<int:pk>/acknowledge/", views.alarm_acknowledge, name="alarm_acknowledge"),
    path("alarms/<int:pk>/assign/", views.alarm_assign, name="alarm_assign"),
    path("alarms/<int:pk>/close/", views.alarm_close, name="alarm_close"),
    path("log/", views.log, name="log"),
    path("handover/", views.handover, name="handover"),
    path("handover/<int:pk>/accept/", views.handover_accept, name="handover_accept"),
    path("wards/<str:code>/", views.ward, name="ward"),
]
