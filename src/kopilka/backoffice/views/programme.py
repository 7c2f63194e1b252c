"""Programme settings on a screen: what is saved overrides the environment's defaults, shown next to each field."""

import zoneinfo

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kopilka.backoffice import audit
from kopilka.backoffice.access import requires
from kopilka.core import programme
from kopilka.core.models import ProgrammeSettings


class ProgrammeForm(forms.ModelForm):
    class Meta:
        model = ProgrammeSettings
        fields = list(programme.FIELDS.values())

    def clean_time_zone(self):
        name = self.cleaned_data["time_zone"].strip()
        if name and name not in zoneinfo.available_timezones():
            raise forms.ValidationError(gettext_lazy("Unknown time zone; e.g. Europe/Moscow or Asia/Novosibirsk."))
        return name

    def clean_receipt_cap_percent(self):
        return _percent(self.cleaned_data["receipt_cap_percent"])

    def clean_line_cap_percent(self):
        return _percent(self.cleaned_data["line_cap_percent"])

    def clean_partner_cap_percent(self):
        return _percent(self.cleaned_data["partner_cap_percent"])


def _percent(cap):
    if cap is not None and not 0 < cap <= 100:
        raise forms.ValidationError(gettext_lazy("Between 0 and 100 percent."))
    return cap


@requires("core.view_programmesettings")
def programme_settings(request):
    saved = ProgrammeSettings.objects.filter(pk=ProgrammeSettings.SINGLETON).first() or ProgrammeSettings(
        pk=ProgrammeSettings.SINGLETON)
    before = {name: str(programme.value(name)) for name in programme.FIELDS}
    form = ProgrammeForm(request.POST or None, instance=saved)
    if request.method == "POST":
        if not request.user.has_perm("core.change_programmesettings"):
            raise PermissionDenied
        if form.is_valid():
            changed = form.save(commit=False)
            changed.updated_by = audit.actor_of(request.user)
            changed.save()
            programme.forget()
            after = {name: str(programme.value(name)) for name in programme.FIELDS}
            moved = {name: [before[name], after[name]] for name in before if before[name] != after[name]}
            audit.record(request.user, "programme.changed", _("Changed programme settings: %(names)s") % {
                "names": ", ".join(moved) or "—"}, target="core.programmesettings", details=moved)
            messages.success(request, _("Programme settings saved."))
            return redirect("backoffice:programme")
    in_force = [(form[field], programme.value(name)) for name, field in programme.FIELDS.items()]
    return render(request, "backoffice/programme.html", {"form": form, "in_force": in_force, "saved": saved})
