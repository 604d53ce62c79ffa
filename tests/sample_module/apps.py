from django.apps import AppConfig


class SampleConfig(AppConfig):
    name = "tests.sample_module"
    label = "sample_module"

    def ready(self) -> None:
        # Exactly what every dothi module does: hand its manifest to the registry.
        from dothi.core.manifests import registry

        registry.discover(self)
