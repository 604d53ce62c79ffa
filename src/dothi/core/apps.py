from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "dothi.core"
    label = "core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from dothi.core.manifests import registry

        registry.discover(self)
