"""Message templates for marketers: the list, a new one, and a template's page where its texts are changed and
previewed on a real member (found by id, card number or phone) before anything is saved."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kopilka.backoffice.access import CHANGES, requires
from kopilka.communications import message_templates as service
from kopilka.communications import templating
from kopilka.communications.models import MessageTemplate
from kopilka.core.errors import ApplicationError, ValidationFailed
from kopilka.customers.models import Member
from kopilka.customers.selectors import search_members


class TemplateForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    channel = forms.ChoiceField(label=gettext_lazy("Channel"), choices=MessageTemplate.Channel.choices)
    purpose = forms.ChoiceField(label=gettext_lazy("Purpose"), choices=MessageTemplate.Purpose.choices)
    subject_ru = forms.CharField(label=gettext_lazy("Subject (Russian)"), max_length=200, required=False)
    body_ru = forms.CharField(label=gettext_lazy("Text (Russian)"), widget=forms.Textarea(attrs={"rows": 8}),
                              required=False)
    subject_en = forms.CharField(label=gettext_lazy("Subject (English)"), max_length=200, required=False)
    body_en = forms.CharField(label=gettext_lazy("Text (English)"), widget=forms.Textarea(attrs={"rows": 8}),
                              required=False)
    relevance_hours = forms.IntegerField(
        label=gettext_lazy("Relevant for, hours"), min_value=1, max_value=24 * 365, required=False,
        help_text=gettext_lazy("A notice not sent within this time after it was made is not sent at all."))

    def clean(self):
        data = super().clean()
        for field, errors in service.problems(data).items():
            for error in errors:
                self.add_error(field, error)
        return data


class NewTemplateForm(TemplateForm):
    code = forms.SlugField(label=gettext_lazy("Code"), max_length=60)
    field_order = ["code"]


class PreviewForm(forms.Form):
    """Part of the template's form: required only when "Preview" is pressed, so the browser does not ask for it on
    "Save"."""

    use_required_attribute = False
    member = forms.CharField(label=gettext_lazy("Member (id, card or phone)"), max_length=60)


@requires("communications.view_messagetemplate")
def templates(request):
    may_add = request.user.has_perm("communications.add_messagetemplate")
    return render(request, "backoffice/message_templates.html",
                  {"templates": MessageTemplate.objects.all(), "may_add": may_add})


@requires("communications.add_messagetemplate", methods=CHANGES)
def new_template(request):
    form = NewTemplateForm(request.POST or None, initial={"channel": "email", "purpose": "marketing"})
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        code = data.pop("code")
        if MessageTemplate.objects.filter(code=code).exists():
            form.add_error("code", _("A template with this code exists."))
        elif _saved(request, form, code, data):
            return redirect("backoffice:message_template", code=code)
    return render(request, "backoffice/message_template.html", {"form": form, "template": None,
                                                                "variables": templating.variables()})


@requires("communications.view_messagetemplate", methods=CHANGES)
def template(request, code: str):
    """A template's page. "Preview" fills the texts in the form — saved or not — for the member named; "Save"
    (communications.change_messagetemplate) keeps them."""
    found = service.get_template(code)
    initial = {name: getattr(found, name) for name in service.FIELDS}
    form = TemplateForm(request.POST or None, initial=initial)
    preview_form = PreviewForm(request.POST if "preview" in request.POST else None)
    preview, preview_error = None, ""
    if request.method == "POST" and "preview" in request.POST:
        if form.is_valid() and preview_form.is_valid():
            preview, preview_error = _preview(found, form.cleaned_data, preview_form.cleaned_data["member"])
    elif request.method == "POST":
        if not request.user.has_perm("communications.change_messagetemplate"):
            raise PermissionDenied
        if form.is_valid() and _saved(request, form, code, form.cleaned_data):
            return redirect("backoffice:message_template", code=code)
    return render(request, "backoffice/message_template.html", {
        "form": form, "template": found, "preview_form": preview_form, "preview": preview,
        "preview_error": preview_error, "variables": templating.variables(),
    })


def _saved(request, form, code: str, data: dict) -> bool:
    try:
        service.save_template(code=code, user=request.user, **{name: data.get(name) for name in service.FIELDS})
    except ValidationFailed as refused:
        form.add_error(None, refused.message)
        return False
    messages.success(request, _("Template %(code)s saved.") % {"code": code})
    return True


def _preview(found: MessageTemplate, data: dict, who: str):
    """The texts filled for the member in both languages, or why they cannot be."""
    text = who.strip()
    if text.isdigit() and Member.objects.filter(pk=int(text)).exists():
        member_id = int(text)
    else:
        matches = search_members(q=text, limit=2).items
        if len(matches) != 1:
            return None, (_("No member matches “%(q)s”.") % {"q": text} if not matches
                          else _("More than one member matches “%(q)s”: give the id.") % {"q": text})
        member_id = matches[0].pk
    draft = MessageTemplate(code=found.code, **{name: data.get(name) or "" for name in service.TEXTS})
    try:
        return [service.compose(draft, member_id, language=language,
                                extra={"unsubscribe_url": _("(the unsubscribe link)")})
                for language in ("ru", "en")], ""
    except ApplicationError as refused:
        return None, str(refused.message)
