"""The audit log with filters: who, what, which member, when."""

from datetime import timedelta

from django import forms
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from kopilka.backoffice.access import requires
from kopilka.core import clock
from kopilka.core.models import AuditEvent
from kopilka.customers.selectors import member_names

PER_PAGE = 100


class AuditFilter(forms.Form):
    actor = forms.CharField(label=_("Who"), required=False, max_length=150)
    action = forms.ChoiceField(label=_("Action"), required=False)
    member = forms.IntegerField(label=_("Member id"), required=False, min_value=1)
    since = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        actions = AuditEvent.objects.order_by("action").values_list("action", flat=True).distinct()
        self.fields["action"].choices = [("", _("any"))] + [(a, a) for a in actions]


@requires("backoffice.view_audit_log")
def audit_log(request):
    form = AuditFilter(request.GET or None)
    events = AuditEvent.objects.all()
    if form.is_valid():
        data = form.cleaned_data
        if data["actor"]:
            events = events.filter(actor__icontains=data["actor"])
        if data["action"]:
            events = events.filter(action=data["action"])
        if data["member"]:
            events = events.filter(member_id=data["member"])
        if data["since"]:
            events = events.filter(at__gte=clock.start_of_day(data["since"]))
        if data["until"]:
            events = events.filter(at__lt=clock.start_of_day(data["until"] + timedelta(days=1)))
    page = Paginator(events, PER_PAGE).get_page(request.GET.get("page"))
    names = member_names({event.member_id for event in page if event.member_id})
    for event in page:
        event.member_name = names.get(event.member_id, event.member_id)
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "backoffice/audit_log.html", {"form": form, "page": page, "query": query.urlencode()})
