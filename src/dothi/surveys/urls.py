"""Pages of the surveys module under /surveys/: citizens' (list, survey form, thank-you) and the staff
area under /surveys/staff/ (list and creation, builder, question actions, status, results, export)."""

from django.urls import path

from dothi.surveys import views

app_name = "surveys"

urlpatterns: list = [
    path("", views.survey_list, name="list"),
    path("staff/", views.staff_list, name="staff_list"),
    path("staff/<slug:code>/", views.staff_survey, name="staff_survey"),
    path("staff/<slug:code>/questions/", views.staff_question_add, name="staff_question_add"),
    path(
        "staff/<slug:code>/questions/<int:pk>/delete/",
        views.staff_question_delete,
        name="staff_question_delete",
    ),
    path("staff/<slug:code>/questions/<int:pk>/move/", views.staff_question_move, name="staff_question_move"),
    path("staff/<slug:code>/status/", views.staff_status, name="staff_status"),
    path("staff/<slug:code>/results/", views.staff_results, name="staff_results"),
    path("staff/<slug:code>/export.csv", views.staff_export, name="staff_export"),
    path("<slug:code>/", views.survey_page, name="survey"),
    path("<slug:code>/thanks/", views.thanks, name="thanks"),
]
