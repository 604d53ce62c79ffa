from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "dothi.core"
    label = "core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from dothi.core import cities
        from dothi.core.manifests import registry
        from dothi.core.models import City

        registry.discover(self)
        cities.watch(City)
