"""Pages of the warnings module under /alerts/: the public list and map, a warning's page, its CAP 1.2
messages, the Atom index feed, the citizen's subscription and "are you safe?" answer (views.py), and
the staff area under /alerts/staff/ (staff_views.py).

Every `<uuid:uid>` arrives in the view as a `uuid.UUID`; an address that is not a UUID is a 404 before
any view runs."""

from django.urls import path

from dothi.alerts import staff_views, views

app_name = "alerts"

urlpatterns: list = [
    path("", views.warning_list, name="list"),
    path("feed.atom", views.feed, name="feed"),
    path("map.geojson", views.map_geojson, name="map_geojson"),
    path("subscription/", views.subscription, name="subscription"),
    # Staff (before "<uuid:uid>/" only for reading order: "staff" is never a UUID).
    path("staff/", staff_views.staff_home, name="staff_home"),
    path("staff/new/", staff_views.staff_new, name="staff_new"),
    path("staff/replies/", staff_views.staff_replies, name="staff_replies"),
    path("staff/replies.geojson", staff_views.staff_replies_geojson, name="staff_replies_geojson"),
    path("staff/<uuid:uid>/", staff_views.staff_detail, name="staff_detail"),
    path("staff/<uuid:uid>/edit/", staff_views.staff_edit, name="staff_edit"),
    path("staff/<uuid:uid>/approve/", staff_views.staff_approve, name="staff_approve"),
    path("staff/<uuid:uid>/reject/", staff_views.staff_reject, name="staff_reject"),
    path("staff/<uuid:uid>/update/", staff_views.staff_update, name="staff_update"),
    path("staff/<uuid:uid>/cancel/", staff_views.staff_cancel, name="staff_cancel"),
    path("staff/<uuid:uid>/deliveries/", staff_views.staff_deliveries, name="staff_deliveries"),
    # Public warning pages.
    path("<uuid:uid>/", views.warning_detail, name="detail"),
    path("<uuid:uid>.cap.xml", views.cap_latest, name="cap"),
    path("<uuid:uid>/v<int:version>.cap.xml", views.cap_version, name="cap_version"),
    path("<uuid:uid>/safety/", views.safety, name="safety"),
    # The control centre's drill-down: the warning's summary as an HTML fragment for its side drawer.
    path("<uuid:uid>/fragment/", views.warning_fragment, name="fragment"),
    path("<uuid:uid>/attachments/<int:pk>/", views.attachment, name="attachment"),
]
