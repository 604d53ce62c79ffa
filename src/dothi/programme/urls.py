"""Pages of the programme under /programme/: the public transparency page, a published project, the
print-ready plan and the shared lessons (views.py); the staff area under /programme/staff/
(staff_views.py)."""

from django.urls import path

from dothi.programme import staff_views, views

app_name = "programme"

urlpatterns: list = [
    path("", views.public, name="public"),
    path("projects/<slug:code>/", views.project, name="project"),
    path("plan/", views.plan, name="plan"),
    path("lessons/", views.lessons, name="lessons"),
    # Staff.
    path("staff/", staff_views.staff_home, name="staff_home"),
    path("staff/plan/", staff_views.staff_plan, name="staff_plan"),
    path("staff/plan/status/", staff_views.staff_plan_status, name="staff_plan_status"),
    path("staff/plan/versions/", staff_views.staff_versions, name="staff_versions"),
    path("staff/plan/print/", staff_views.staff_plan_print, name="staff_plan_print"),
    path("staff/team/", staff_views.staff_team, name="staff_team"),
    path("staff/swot/", staff_views.staff_swot, name="staff_swot"),
    path("staff/assessment/", staff_views.staff_assessment, name="staff_assessment"),
    path("staff/risks/", staff_views.staff_risks, name="staff_risks"),
    path("staff/stakeholders/", staff_views.staff_stakeholders, name="staff_stakeholders"),
    path("staff/goals/", staff_views.staff_goals, name="staff_goals"),
    path("staff/projects/", staff_views.staff_projects, name="staff_projects"),
    path("staff/projects/<slug:code>/", staff_views.staff_project, name="staff_project"),
    path(
        "staff/projects/<slug:code>/add/<str:section>/",
        staff_views.staff_project_add,
        name="staff_project_add",
    ),
    path(
        "staff/projects/<slug:code>/alternatives/",
        staff_views.staff_project_alternatives,
        name="staff_project_alternatives",
    ),
    path("staff/timeline/", staff_views.staff_timeline, name="staff_timeline"),
    path("staff/vendors/", staff_views.staff_vendors, name="staff_vendors"),
    path("staff/challenges/", staff_views.staff_challenges, name="staff_challenges"),
    path("staff/training/", staff_views.staff_training, name="staff_training"),
    path("staff/cooperation/", staff_views.staff_cooperation, name="staff_cooperation"),
    path("staff/exports/", staff_views.staff_exports, name="staff_exports"),
    path("staff/exports/<slug:table>.<slug:fmt>", staff_views.staff_export, name="staff_export"),
    # Every section's rows: add (programme-level sections), edit, delete.
    path("staff/add/<str:section>/", staff_views.staff_add, name="staff_add"),
    path("staff/items/<str:section>/<int:pk>/edit/", staff_views.staff_item_edit, name="staff_item_edit"),
    path(
        "staff/items/<str:section>/<int:pk>/delete/", staff_views.staff_item_delete, name="staff_item_delete"
    ),
]
