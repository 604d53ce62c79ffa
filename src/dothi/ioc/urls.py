from django.urls import path

app_name = "ioc"

urlpatterns: list = []
