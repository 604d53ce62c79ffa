from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "dothi.web"
    label = "web"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from dothi.core.manifests import registry

        registry.discover(self)
