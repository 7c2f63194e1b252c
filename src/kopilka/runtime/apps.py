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
        from kopilka.communications import notice_texts
        from kopilka.communications import services as outbox
        from kopilka.communications.journeys import models as journeys
        from kopilka.communications.journeys import texts
        from kopilka.communications.mailings import filling
        from kopilka.communications.mailings import models as mailings

        # After every migrate, once the back office (the last app with models) has its permissions, the roles
        # get theirs: permissions of new models exist only from then on.
        post_migrate.connect(sync_roles, sender=apps.get_app_config("backoffice"),
                             dispatch_uid="kopilka.backoffice.sync_roles")
        # The outbox's messages written without their text (set-based, per member) get it right before their send.
        outbox.fill_at_send(mailings.MESSAGE_KIND, filling.fill)
        outbox.fill_at_send(journeys.MESSAGE_KIND, texts.fill)
        for kind in notice_texts.KINDS:  # campaign notices
            outbox.fill_at_send(kind, notice_texts.fill)