from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BackOfficeConfig(AppConfig):
    """Its roles are synchronised after every migrate (`roles.sync_roles`, connected by `kopilka.runtime`)."""

    name = "kopilka.backoffice"
    label = "backoffice"
    verbose_name = _("Back office")
