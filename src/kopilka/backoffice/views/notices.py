"""The programme's personal notices on one screen: which kinds are on, the template each uses (edited in the
template editor) and the days before, where the kind counts them. Saved all at once or not at all."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kopilka.backoffice.access import CHANGES, requires
from kopilka.communications import notice_settings
from kopilka.communications.models import MessageTemplate
from kopilka.communications.notice_kinds import KINDS, MOST_DAYS
from kopilka.communications.notice_models import NoticeSetting
from kopilka.core.errors import ValidationFailed


class NoticeForm(forms.Form):
    """One kind's setting; its fields are labelled with the kind, as they stand in one table."""

    is_enabled = forms.BooleanField(label=gettext_lazy("On"), required=False)
    template = forms.ChoiceField(label=gettext_lazy("Template"))
    days_before = forms.IntegerField(label=gettext_lazy("Days before"), min_value=1, max_value=MOST_DAYS,
                                     required=False)

    def __init__(self, *args, setting: NoticeSetting, templates: list[tuple[str, str]], **kwargs):
        super().__init__(*args, prefix=setting.kind, initial={
            "is_enabled": setting.is_enabled, "template": setting.template.code,
            "days_before": setting.days_before}, **kwargs)
        self.setting = setting
        self.fields["template"].choices = templates
        if KINDS[setting.kind].counts_days:
            self.fields["days_before"].required = True
        else:
            del self.fields["days_before"]
        for field in self.fields.values():
            field.widget.attrs["aria-label"] = f"{capfirst(setting.get_kind_display())}: {field.label}"

    def wanted(self) -> notice_settings.Wanted:
        data = self.cleaned_data
        return notice_settings.Wanted(data["is_enabled"], data["template"], data.get("days_before"))


@requires("communications.view_noticesetting", methods=CHANGES)
def notices(request):
    templates = [(t.code, f"{t.code} — {t.name}") for t in MessageTemplate.objects.order_by("code")]
    posted = request.POST if request.method == "POST" else None
    forms_ = [NoticeForm(posted, setting=s, templates=templates) for s in notice_settings.all_settings()]
    if posted is not None:
        if not request.user.has_perm("communications.change_noticesetting"):
            raise PermissionDenied
        if all(form.is_valid() for form in forms_) and _saved(request, forms_):
            return redirect("backoffice:notices")
    return render(request, "backoffice/notices.html", {"forms": forms_})


def _saved(request, forms_: list[NoticeForm]) -> bool:
    """Save every kind's setting; a refusal puts each problem on its field and saves nothing."""
    by_kind = {form.setting.kind: form for form in forms_}
    try:
        notice_settings.change_settings({kind: form.wanted() for kind, form in by_kind.items()}, user=request.user)
    except ValidationFailed as refused:
        for name, problems in refused.details.get("fields", {}).items():
            kind, field = name.split(".", 1)
            form = by_kind[kind]
            for problem in problems:
                form.add_error(field if field in form.fields else None, problem)
        return False
    messages.success(request, _("Notice settings saved."))
    return True
