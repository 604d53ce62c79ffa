from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AlertsConfig(AppConfig):
    name = "dothi.alerts"
    label = "alerts"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = _("Warnings")

    def ready(self) -> None:
        from dothi.alerts import rules
        from dothi.core.manifests import registry

        registry.discover(self)
        rules.watch()
