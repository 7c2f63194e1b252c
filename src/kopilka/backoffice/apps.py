from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class BackOfficeConfig(AppConfig):
    name = "kopilka.backoffice"
    label = "backoffice"
    verbose_name = _("Back office")

    def ready(self) -> None:
        from kopilka.backoffice.roles import sync_roles

        # After every migrate: permissions of new models exist only from then on.
        post_migrate.connect(sync_roles, dispatch_uid="kopilka.backoffice.sync_roles")
