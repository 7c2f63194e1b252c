"""The delivery log of every channel: messages filtered by channel, status and member, and each one's tries."""

from django import forms
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext_lazy as _

from kopilka.backoffice.access import requires
from kopilka.communications.models import Message
from kopilka.customers.selectors import member_names

PER_PAGE = 100
LISTED = ["created_at", "member_id", "channel", "purpose", "kind", "to", "subject", "status", "skip_reason",
          "error", "attempts", "next_try_at", "sent_at", "delivered_at"]


class DeliveryFilter(forms.Form):
    channel = forms.ChoiceField(label=_("Channel"), required=False,
                                choices=[("", _("any")), *Message.Channel.choices])
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("any")), *Message.Status.choices])
    member = forms.IntegerField(label=_("Member id"), required=False, min_value=1)


@requires("communications.view_message")
def delivery_log(request):
    form = DeliveryFilter(request.GET or None)
    shown = Message.objects.all()
    if form.is_valid():
        chosen = {name: value for name, value in form.cleaned_data.items() if value}
        shown = shown.filter(**{"member_id" if name == "member" else name: value for name, value in chosen.items()})
    page = Paginator(shown.only(*LISTED), PER_PAGE).get_page(request.GET.get("page"))
    names = member_names({message.member_id for message in page})
    for message in page:
        message.member_name = names.get(message.member_id, message.member_id)
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "backoffice/messages.html", {"form": form, "page": page, "query": query.urlencode()})


@requires("communications.view_message")
def message(request, message_id: int):
    shown = get_object_or_404(Message, pk=message_id)
    shown.member_name = member_names([shown.member_id]).get(shown.member_id, shown.member_id)
    return render(request, "backoffice/message.html", {"message": shown, "tries": shown.tries.all()})
