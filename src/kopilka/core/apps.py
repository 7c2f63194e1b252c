from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "kopilka.core"
    label = "core"
    verbose_name = _("Kopilka core")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_login_failed

        from kopilka.core import audit, programme, signin

        # Every change of the programme settings, from the screen or the API, is in the audit log, in its
        # transaction.
        programme.changed.connect(audit.programme_changed, dispatch_uid="kopilka.core.audit.programme_changed")
        # Every failed sign-in is in the audit log (failures are counted from there; the sign-in form records
        # the successes).
        user_login_failed.connect(signin.failed, dispatch_uid="kopilka.core.signin.failed")
