from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "dothi.core"
    label = "core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from dothi.core import cities
        from dothi.core.manifests import registry
        from dothi.core.models import City

        registry.discover(self)
        post_save.connect(cities.invalidate, sender=City, dispatch_uid="dothi.cities.invalidate.save")
        post_delete.connect(cities.invalidate, sender=City, dispatch_uid="dothi.cities.invalidate.delete")
