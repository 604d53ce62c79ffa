from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class KpisConfig(AppConfig):
    name = "dothi.kpis"
    label = "kpis"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = _("Indicators and evaluation")

    def ready(self) -> None:
        from dothi.core.manifests import registry

        registry.discover(self)
