from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "dothi.identity"
    label = "identity"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_delete, post_save

        from dothi.core.manifests import registry
        from dothi.identity.backends import forget_user

        registry.discover(self)
        user_model = get_user_model()
        post_save.connect(forget_user, sender=user_model, dispatch_uid="dothi.identity.forget_user.save")
        post_delete.connect(forget_user, sender=user_model, dispatch_uid="dothi.identity.forget_user.delete")
