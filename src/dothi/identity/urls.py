from django.urls import path

from dothi.identity import views

app_name = "identity"

urlpatterns = [
    path("signin/", views.signin, name="signin"),
]
