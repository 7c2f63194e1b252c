"""Webhook endpoints on screens (`communications.manage_webhooks`): the list, a new endpoint, an endpoint's page to
change it, rotate its secret (the new secret is shown once), retire old secrets and send a test event, and its
deliveries with every attempt, each replayable with the same webhook-id. Changes go through
`communications.webhook_endpoints`, which audits them and refuses what an administrator alone may do."""

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kopilka.backoffice.access import ACTION, CHANGES, SHOWS, requires
from kopilka.communications import webhook_endpoints
from kopilka.communications.models import Delivery, Endpoint
from kopilka.core.errors import ApplicationError

MANAGE = "communications.manage_webhooks"
SHOWN_ONCE = "webhook_secret_shown_once"


class EndpointForm(forms.Form):
    url = forms.CharField(label=gettext_lazy("Address (URL)"), max_length=webhook_endpoints.URL_LENGTH,
                          widget=forms.URLInput(attrs={"placeholder": "https://"}))
    description = forms.CharField(label=gettext_lazy("Description"), required=False,
                                  max_length=Endpoint._meta.get_field("description").max_length)
    event_types = forms.MultipleChoiceField(label=gettext_lazy("Events"), widget=forms.CheckboxSelectMultiple,
                                            choices=list(webhook_endpoints.EVENT_TYPES.items()))
    is_enabled = forms.BooleanField(label=gettext_lazy("Enabled"), required=False, initial=True)
    allow_private = forms.BooleanField(label=gettext_lazy("Allow private and local addresses"), required=False,
                                       help_text=gettext_lazy("Only an administrator may change this."))

    def __init__(self, *args, user, creating: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if creating:
            del self.fields["is_enabled"]
        if not user.has_perm(webhook_endpoints.PRIVATE_RIGHT):
            self.fields["allow_private"].disabled = True


@requires(MANAGE)
def endpoints(request):
    found = Endpoint.objects.annotate(
        failed=Count("deliveries", filter=Q(deliveries__status=Delivery.Status.FAILED)),
        pending=Count("deliveries", filter=Q(deliveries__status=Delivery.Status.PENDING)),
    ).order_by("id")
    return render(request, "backoffice/webhooks.html", {"endpoints": found, "labels": webhook_endpoints.EVENT_TYPES})


@requires(MANAGE, methods=CHANGES)
def new_endpoint(request):
    form = EndpointForm(request.POST or None, user=request.user, creating=True)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint, secret = webhook_endpoints.create_endpoint(request.user, **form.cleaned_data)
        except ApplicationError as refused:
            _refused(form, refused)
        else:
            request.session[SHOWN_ONCE] = {"endpoint": endpoint.pk, "secret": secret}
            messages.success(request, _("Webhook endpoint created."))
            return redirect("backoffice:webhook", endpoint_id=endpoint.pk)
    return render(request, "backoffice/webhook_new.html", {"form": form})


@requires(MANAGE, methods=CHANGES)
def endpoint(request, endpoint_id: int):
    """An endpoint's page: its form, its secrets (a new one shown once), why it is off, its latest deliveries."""
    found = get_object_or_404(Endpoint, pk=endpoint_id)
    initial = {field: getattr(found, field) for field in ("url", "description", "event_types", "is_enabled",
                                                          "allow_private")}
    form = EndpointForm(request.POST or None, initial=initial, user=request.user, creating=False)
    if request.method == "POST" and form.is_valid():
        try:
            webhook_endpoints.change_endpoint(request.user, found.pk, **form.cleaned_data)
        except ApplicationError as refused:
            _refused(form, refused)
        else:
            messages.success(request, _("Webhook endpoint saved."))
            return redirect("backoffice:webhook", endpoint_id=found.pk)
    shown = request.session.get(SHOWN_ONCE)
    secret = None
    if shown and shown.get("endpoint") == found.pk:
        secret = request.session.pop(SHOWN_ONCE)["secret"]
    return render(request, "backoffice/webhook.html", {
        "endpoint": found, "form": form, "new_secret": secret,
        "secrets": webhook_endpoints.in_use(found),
        "recent": found.deliveries.select_related("event").order_by("-id")[:10],
    })


@requires(MANAGE, methods=ACTION)
def rotate(request, endpoint_id: int):
    secret = webhook_endpoints.rotate_secret(request.user, get_object_or_404(Endpoint, pk=endpoint_id).pk)
    request.session[SHOWN_ONCE] = {"endpoint": endpoint_id, "secret": secret}
    messages.success(request, _("A new secret signs alongside the old ones for 24 hours; then they retire."))
    return redirect("backoffice:webhook", endpoint_id=endpoint_id)


@requires(MANAGE, methods=ACTION)
def retire(request, endpoint_id: int):
    retired = webhook_endpoints.retire_old_secrets(request.user, get_object_or_404(Endpoint, pk=endpoint_id).pk)
    messages.success(request, _("Old secrets retired: %(count)d.") % {"count": retired})
    return redirect("backoffice:webhook", endpoint_id=endpoint_id)


@requires(MANAGE, methods=ACTION)
def send_test(request, endpoint_id: int):
    webhook_endpoints.send_test_event(request.user, get_object_or_404(Endpoint, pk=endpoint_id).pk)
    messages.success(request, _("A test event is queued; the worker sends it within a minute."))
    return redirect("backoffice:webhook_deliveries", endpoint_id=endpoint_id)


@requires(MANAGE, methods=SHOWS)
def deliveries(request, endpoint_id: int):
    found = get_object_or_404(Endpoint, pk=endpoint_id)
    status = request.GET.get("status", "")
    listed = found.deliveries.select_related("event").prefetch_related("tries").order_by("-id")
    if status in Delivery.Status.values:
        listed = listed.filter(status=status)
    page = Paginator(listed, 50).get_page(request.GET.get("page"))
    return render(request, "backoffice/webhook_deliveries.html", {
        "endpoint": found, "page": page, "status": status, "statuses": Delivery.Status.choices})


@requires(MANAGE, methods=ACTION)
def replay(request, delivery_id: int):
    delivery = get_object_or_404(Delivery, pk=delivery_id)
    try:
        webhook_endpoints.replay(request.user, delivery.pk)
    except ApplicationError as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, _("Delivery %(id)s queued again with the same webhook-id.") % {
            "id": delivery.webhook_id})
    return redirect("backoffice:webhook_deliveries", endpoint_id=delivery.endpoint_id)


def _refused(form: EndpointForm, refused: ApplicationError) -> None:
    field = refused.details.get("field")
    form.add_error(field if field in form.fields else None, str(refused.message))
