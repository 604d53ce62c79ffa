"""Pages of the spatial layers under /layers/: the city map, the catalogue, the place search, a layer's
page, its features and export (views.py), and the staff area under /layers/staff/ (staff_views.py).

The fixed paths (catalogue/, search.json, staff/) come before `<slug:code>/`: a layer cannot be reached
under one of those codes."""

from django.urls import path

from dothi.layers import staff_views, views

app_name = "layers"

urlpatterns: list = [
    path("", views.map_page, name="map"),
    path("catalogue/", views.catalogue_page, name="catalogue"),
    path("search.json", views.search_json, name="search"),
    path("staff/", staff_views.staff_home, name="staff_home"),
    path("staff/new/", staff_views.staff_new, name="staff_new"),
    path("staff/population/", staff_views.staff_population, name="staff_population"),
    path("staff/imports/", staff_views.staff_imports, name="staff_imports"),
    path("staff/imports/<int:pk>/", staff_views.staff_import_result, name="staff_import_result"),
    path("staff/<slug:code>/edit/", staff_views.staff_edit, name="staff_edit"),
    path("staff/<slug:code>/import/", staff_views.staff_import, name="staff_import"),
    path("<slug:code>/", views.layer_detail, name="detail"),
    path("<slug:code>/features.geojson", views.features_geojson, name="features"),
    path("<slug:code>/export.geojson", views.export_geojson, name="export"),
]
