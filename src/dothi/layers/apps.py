from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LayersConfig(AppConfig):
    name = "dothi.layers"
    label = "layers"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = _("Spatial layers")

    def ready(self) -> None:
        from dothi.core.manifests import registry

        registry.discover(self)
