"""Signing in to the back office and the administration: every attempt is in the audit log, and a name or an
address that failed too often recently is refused for a while before its password is even checked.

Counts come from the audit log itself (`signin.failed` events), so every server process sees the same numbers.
"""

from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.db import transaction
from django.utils.translation import gettext as _

from kopilka.core import audit, clock
from kopilka.core.models import AuditEvent

WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_NAME = 5
MAX_FAILURES_PER_ADDRESS = 20
FAILED, SUCCEEDED, REFUSED = "signin.failed", "signin.succeeded", "signin.refused"


def address_of(request) -> str:
    """The client's address: the connection's peer, or — when the peer is one of the trusted proxies
    (`TRUSTED_PROXIES`) — the nearest address in X-Forwarded-For that is not one of them. Addresses a client
    wrote itself, further left in the header, are never believed."""
    if request is None:
        return ""
    address = request.META.get("REMOTE_ADDR") or ""
    forwarded = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    while address in settings.TRUSTED_PROXIES and forwarded:
        address = forwarded.pop()
    return address


def _actor(username: str) -> str:
    return f"signin:{username}"[:150]


def wait_seconds(username: str, address: str) -> int:
    """How long `username` from `address` must wait before trying again (0: may try now)."""
    since = clock.now() - WINDOW
    failed = AuditEvent.objects.filter(action=FAILED, at__gte=since)
    for found, limit in ((failed.filter(actor=_actor(username)), MAX_FAILURES_PER_NAME),
                         (failed.filter(details__address=address), MAX_FAILURES_PER_ADDRESS)):
        times = list(found.order_by("-at").values_list("at", flat=True)[:limit])
        if len(times) >= limit:
            return max(1, int((times[-1] + WINDOW - clock.now()).total_seconds()))
    return 0


def failed(sender, credentials: dict, request=None, **kwargs) -> None:
    """`user_login_failed`: the attempt in the audit log (never its password)."""
    username = str(credentials.get("username", ""))[:150]
    with transaction.atomic():
        audit.record(None, FAILED, _("Sign-in failed for %(name)s") % {"name": username}, actor=_actor(username),
                     details={"address": address_of(request)})


def refused(request, username: str) -> None:
    """An attempt turned away unchecked, in the audit log (not counted as a failure: waiting ends on time)."""
    with transaction.atomic():
        audit.record(None, REFUSED, _("Sign-in refused for %(name)s: too many failed attempts") % {
            "name": username[:150]}, actor=_actor(username), details={"address": address_of(request)})


def succeeded(request, user) -> None:
    """A sign-in with a name and password in the audit log."""
    with transaction.atomic():
        audit.record(user, SUCCEEDED, _("Signed in"), details={"address": address_of(request)})


class ThrottledSignInForm(AdminAuthenticationForm):
    """The administration's sign-in form, refusing names and addresses that failed too often lately."""

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        if seconds := wait_seconds(username, address_of(self.request)):
            refused(self.request, username)
            raise forms.ValidationError(
                _("Too many failed attempts. Try again in %(minutes)d min.") % {"minutes": -(-seconds // 60)},
                code="too_many_attempts")
        cleaned = super().clean()
        succeeded(self.request, self.get_user())
        return cleaned
