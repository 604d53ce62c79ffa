"""Pages of the KPI module under /kpis/: the catalogue, manual values and publication (views.py); the
evaluation dashboard, indicator pages, the council's report, return on investment and the public page
(evaluation_views.py)."""

from django.urls import path

from dothi.kpis import evaluation_views, views

app_name = "kpis"

urlpatterns: list = [
    path("", evaluation_views.dashboard, name="dashboard"),
    path("i/<path:code>/", evaluation_views.indicator, name="indicator"),
    path("report/", evaluation_views.report, name="report"),
    path("report/issue/", evaluation_views.issue, name="issue"),
    path("report/export.<str:fmt>", evaluation_views.report_export, name="report_export"),
    path("evaluations/", evaluation_views.evaluations, name="evaluations"),
    path("evaluations/<int:pk>/", evaluation_views.evaluation, name="evaluation"),
    path("roi/", evaluation_views.roi, name="roi"),
    path("roi/<slug:code>/", evaluation_views.roi_project, name="roi_project"),
    path("public/", evaluation_views.public, name="public"),
    path("catalogue/", views.catalogue, name="catalogue"),
    path("manual/", views.manual, name="manual"),
    path("manual/review/", views.manual_review, name="manual_review"),
    path("export.<str:fmt>", views.export, name="export"),
]
