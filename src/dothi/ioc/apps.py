from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IocConfig(AppConfig):
    name = "dothi.ioc"
    label = "ioc"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = _("Control centre")

    def ready(self) -> None:
        from dothi.core.manifests import registry

        registry.discover(self)
