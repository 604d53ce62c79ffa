from django.apps import AppConfig


class AppointmentsConfig(AppConfig):
    name = "dothi.appointments"
    label = "appointments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from dothi.core.manifests import registry

        registry.discover(self)
