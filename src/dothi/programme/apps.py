from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProgrammeConfig(AppConfig):
    name = "dothi.programme"
    label = "programme"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = _("Smart-city programme")

    def ready(self) -> None:
        from dothi.core.manifests import registry

        registry.discover(self)
