"""Pages of the sensing module under /sensors/ (the map, a sensor's page; see views.py)."""

from django.urls import path

from dothi.sensing import views

app_name = "sensing"

urlpatterns: list = [
    path("", views.sensor_map, name="map"),
    path("map.json", views.sensor_map_points, name="map_points"),
    path("list/", views.sensor_list, name="list"),
    path("<str:code>/", views.sensor_detail, name="detail"),
    path("<str:code>/series.json", views.sensor_series, name="series"),
    # The control centre's drill-down (an HTML fragment for its side drawer).
    path("<str:code>/fragment/", views.sensor_fragment, name="fragment"),
]
