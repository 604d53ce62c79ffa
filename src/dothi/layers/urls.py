from django.urls import path

app_name = "layers"

urlpatterns: list = []
