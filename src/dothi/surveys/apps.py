from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SurveysConfig(AppConfig):
    name = "dothi.surveys"
    label = "surveys"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = _("Satisfaction surveys")

    def ready(self) -> None:
        from dothi.core.manifests import registry

        registry.discover(self)
