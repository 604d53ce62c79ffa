from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SensingConfig(AppConfig):
    name = "dothi.sensing"
    label = "sensing"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = _("Sensors")

    def ready(self) -> None:
        from dothi.core.manifests import registry
        from dothi.sensing import catalogue, checks, keys  # noqa: F401 - checks register themselves

        registry.discover(self)
        catalogue.watch()
        keys.watch()
