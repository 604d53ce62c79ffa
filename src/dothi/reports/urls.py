from django.urls import path

from dothi.reports import views, views_stats

app_name = "reports"

urlpatterns = [
    path("", views.report_list, name="list"),
    path("map/", views.report_map, name="map"),
    path("map.geojson", views.report_map_geojson, name="map_geojson"),
    path("map.json", views.report_map_points, name="map_points"),
    path("new/", views.report_new, name="new"),
    path("new/questions", views.report_questions, name="questions"),
    path("new/preview", views.report_preview, name="preview"),
    path("new/on-behalf/", views.report_on_behalf, name="on_behalf"),
    path("queue/", views.report_queue, name="queue"),
    path("stats.csv", views_stats.stats_csv, name="stats_csv"),
    path("<str:reference>/", views.report_detail, name="detail"),
    # The control centre's drill-down: the report's timeline as an HTML fragment for its side drawer.
    path("<str:reference>/fragment/", views.report_fragment, name="fragment"),
    path("<str:reference>/photos/<str:token>", views.report_photo, name="photo"),
    path("<str:reference>/follow/", views.report_follow, name="follow"),
    path("<str:reference>/info/", views.report_provide_info, name="provide_info"),
    path("<str:reference>/confirm/", views.report_confirm, name="confirm"),
    path("<str:reference>/reopen/", views.report_reopen, name="reopen"),
    path("<str:reference>/rate/", views.report_rate, name="rate"),
    path("<str:reference>/handle/", views.report_handle, name="handle"),
    path("<str:reference>/handle/contact/", views.report_contact, name="contact"),
    path("<str:reference>/handle/<slug:action>/", views.report_handle_action, name="handle_action"),
]
