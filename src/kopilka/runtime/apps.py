from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class RuntimeConfig(AppConfig):
    """The composition root: its commands assemble the platform, and `ready` does the wiring between apps that
    would otherwise be registered by importing them."""

    name = "kopilka.runtime"
    label = "runtime"
    verbose_name = _("Runtime")

    def ready(self) -> None:
        from kopilka.backoffice.roles import sync_roles

        # After every migrate, once the back office (the last app with models) has its permissions, the roles
        # get theirs: permissions of new models exist only from then on.
        post_migrate.connect(sync_roles, sender=apps.get_app_config("backoffice"),
                             dispatch_uid="kopilka.backoffice.sync_roles")