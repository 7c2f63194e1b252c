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


class ProgrammeForm(forms.ModelForm):
    """The settings row's fields, each checked by the programme's own rules (`core.programme.check`)."""

    class Meta:
        model = ProgrammeSettings
        fields = list(programme.FIELDS.values())

    def clean(self):
        cleaned = super().clean()
        for name, field in programme.FIELDS.items():
            if field in cleaned and field not in self.errors:
                try:
                    cleaned[field] = programme.check(name, cleaned[field])
                except ValidationFailed as refused:
                    self.add_error(field, str(refused.message))
        return cleaned


@requires("core.view_programmesettings", methods=CHANGES)
def programme_settings(request):
    saved = ProgrammeSettings.objects.filter(pk=ProgrammeSettings.SINGLETON).first() or ProgrammeSettings(
        pk=ProgrammeSettings.SINGLETON)
    form = ProgrammeForm(request.POST or None, instance=saved)
    if request.method == "POST":
        if not request.user.has_perm("core.change_programmesettings"):
            raise PermissionDenied
        if form.is_valid():
            programme.change({name: form.cleaned_data[field] for name, field in programme.FIELDS.items()},
                             actor=audit.actor_of(request.user), user=request.user)
            messages.success(request, _("Programme settings saved."))
            return redirect("backoffice:programme")
    in_force = [(form[field], programme.value(name)) for name, field in programme.FIELDS.items()]
    return render(request, "backoffice/programme.html", {"form": form, "in_force": in_force, "saved": saved})
