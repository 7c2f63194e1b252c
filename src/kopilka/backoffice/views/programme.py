"""Programme settings on a screen: what is saved overrides the environment's defaults, shown next to each field."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from kopilka.backoffice.access import CHANGES, requires
from kopilka.core import audit, programme
from kopilka.core.errors import ValidationFailed
from kopilka.core.models import ProgrammeSettings

# The rules of messages to members, saved on the channel settings page.
CHANNEL_SETTINGS = ("QUIET_HOURS", "MARKETING_CAP_MESSAGES", "MARKETING_CAP_DAYS", "PUBLIC_URL")
PROGRAMME_SETTINGS = tuple(name for name in programme.FIELDS if name not in CHANNEL_SETTINGS)


class ProgrammeForm(forms.ModelForm):
    """The settings row's fields, each checked by the programme's own rules (`core.programme.check`)."""

    names = PROGRAMME_SETTINGS

    class Meta:
        model = ProgrammeSettings
        fields = [programme.FIELDS[name] for name in PROGRAMME_SETTINGS]

    def clean(self):
        cleaned = super().clean()
        for name in self.names:
            field = programme.FIELDS[name]
            if field in cleaned and field not in self.errors:
                try:
                    cleaned[field] = programme.check(name, cleaned[field])
                except ValidationFailed as refused:
                    self.add_error(field, str(refused.message))
        return cleaned


def saved_settings() -> ProgrammeSettings:
    return ProgrammeSettings.objects.filter(pk=ProgrammeSettings.SINGLETON).first() or ProgrammeSettings(
        pk=ProgrammeSettings.SINGLETON)


def save(form: ProgrammeForm, user) -> None:
    """The form's settings, all or nothing (the caller has checked the form and the permission)."""
    programme.change({name: form.cleaned_data[programme.FIELDS[name]] for name in form.names},
                     actor=audit.actor_of(user), user=user)


def in_force(form: ProgrammeForm) -> list:
    """Each of the form's fields with the value in force."""
    return [(form[programme.FIELDS[name]], programme.value(name)) for name in form.names]


@requires("core.view_programmesettings", methods=CHANGES)
def programme_settings(request):
    saved = saved_settings()
    form = ProgrammeForm(request.POST or None, instance=saved)
    if request.method == "POST":
        if not request.user.has_perm("core.change_programmesettings"):
            raise PermissionDenied
        if form.is_valid():
            save(form, request.user)
            messages.success(request, _("Programme settings saved."))
            return redirect("backoffice:programme")
    return render(request, "backoffice/programme.html", {"form": form, "in_force": in_force(form), "saved": saved})
