from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommunicationsConfig(AppConfig):
    name = "kopilka.communications"
    label = "communications"
    verbose_name = _("Communications")

    def ready(self):
        from kopilka.communications import erasure
        from kopilka.customers.signals import member_erased

        member_erased.connect(erasure.forget_member, dispatch_uid="communications.forget_member")
