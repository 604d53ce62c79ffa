from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "dothi.reports"
    label = "reports"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from dothi.core.manifests import registry
        from dothi.reports import catalogue, dispatch

        registry.discover(self)
        catalogue.watch()
        dispatch.watch()
