"""Channel settings on a screen: the rules of messages (public address, quiet hours, the cap on marketing
messages — programme settings, so an empty field follows the environment) and the SMS provider. Secrets are
written, never shown back: an empty secret field keeps the saved one."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kopilka.backoffice.access import CHANGES, requires
from kopilka.backoffice.views.programme import CHANNEL_SETTINGS, ProgrammeForm, in_force, save, saved_settings
from kopilka.communications import reports, sms
from kopilka.communications.models import SmsProvider
from kopilka.core import audit, programme
from kopilka.core.models import ProgrammeSettings

SECRETS = ("auth_secret", "report_secret")


class ChannelRulesForm(ProgrammeForm):
    names = CHANNEL_SETTINGS

    class Meta:
        model = ProgrammeSettings
        fields = [programme.FIELDS[name] for name in CHANNEL_SETTINGS]


class SmsProviderForm(forms.ModelForm):
    """The provider's settings; `auth_secret` and `report_secret` replace the saved ones only when given."""

    url = forms.URLField(label=gettext_lazy("address of the send request"), max_length=300, assume_scheme="https")
    auth_secret = forms.CharField(label=gettext_lazy("token or password"), required=False, max_length=300,
                                  widget=forms.PasswordInput(render_value=False))
    report_secret = forms.CharField(label=gettext_lazy("shared secret of delivery reports"), required=False,
                                    min_length=16, max_length=200, widget=forms.PasswordInput(render_value=False))

    class Meta:
        model = SmsProvider
        fields = ["name", "url", "method", "body_format", "to_field", "text_field", "sender_field", "sender",
                  "reference_field", "extra_fields", "auth", "auth_header", "auth_user", "success_field",
                  "success_value", "id_field", "timeout_seconds", "report_id_field", "report_id",
                  "report_status_field", "delivered_values", "failed_values", "report_error_field"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("url", *SECRETS):  # declared here: labelled as the model's fields are
            self.fields[name].label = capfirst(self.fields[name].label)

    def save(self, commit: bool = True) -> SmsProvider:
        provider = super().save(commit=False)
        if self.cleaned_data["auth_secret"]:
            provider.auth_secret = self.cleaned_data["auth_secret"]
        if self.cleaned_data["report_secret"]:
            provider.report_secret_digest = reports.digest(self.cleaned_data["report_secret"])
        if commit:
            provider.save()
        return provider


@requires("core.view_programmesettings", "communications.view_smsprovider", methods=CHANGES)
def channel_settings(request):
    saved = saved_settings()
    provider = sms.provider() or SmsProvider(pk=SmsProvider.SINGLETON)
    posted = request.POST if request.method == "POST" else None
    rules = ChannelRulesForm(posted, instance=saved, prefix="rules")
    sms_form = SmsProviderForm(posted, instance=provider, prefix="sms")
    if posted is not None:
        if not request.user.has_perms(["core.change_programmesettings", "communications.change_smsprovider"]):
            raise PermissionDenied
        # No provider yet and none described: the SMS part stays empty.
        described = provider.updated_at is not None or posted.get("sms-name") or posted.get("sms-url")
        if rules.is_valid() and (not described or sms_form.is_valid()):
            with transaction.atomic():
                save(rules, request.user)
                if described and sms_form.has_changed():
                    _save_provider(sms_form, request.user)
            messages.success(request, _("Channel settings saved."))
            return redirect("backoffice:channels")
    return render(request, "backoffice/channels.html", {
        "rules": rules, "in_force": in_force(rules), "sms": sms_form, "provider": provider,
        "secrets_saved": {"auth_secret": bool(provider.auth_secret),
                          "report_secret": bool(provider.report_secret_digest)},
        "report_address": f"{programme.value('PUBLIC_URL')}/channels/sms/reports" if programme.value(
            "PUBLIC_URL") else "",
    })


def _save_provider(form: SmsProviderForm, user) -> None:
    """The provider's settings and their audit event, which names the fields changed but never a secret's value."""
    provider = form.save(commit=False)
    provider.updated_by = audit.actor_of(user)
    provider.save()
    audit.record(user, "communications.sms_provider", _("Changed the SMS provider: %(names)s")
                 % {"names": ", ".join(form.changed_data)}, target=f"communications.smsprovider:{provider.pk}",
                 details={"changed": form.changed_data})
