from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "dothi.identity"
    label = "identity"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from dothi.core.manifests import registry

        registry.discover(self)
