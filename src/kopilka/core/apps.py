from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "kopilka.core"
    label = "core"
    verbose_name = _("Kopilka core")

    def ready(self) -> None:
        from kopilka.core import audit, programme

        # Every change of the programme settings, from the screen or the API, is in the audit log, in its
        # transaction.
        programme.changed.connect(audit.programme_changed, dispatch_uid="kopilka.core.audit.programme_changed")
