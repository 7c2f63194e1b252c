"""Webhook endpoints managed by staff: create, change, rotate secrets, send a test event, replay a delivery.

Every change runs in one transaction with its audit event and changes nothing when it refuses. The caller is a
person (`user`) or, with `user` None, an integration named by `actor` (an API key). Only a person with
`communications.allow_private_webhook_addresses` turns "allow private addresses" on or off, never an API key; the
address is checked against it at every save (`webhook_addresses.target`)."""

from datetime import timedelta

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kopilka.communications import webhook_addresses, webhook_signing
from kopilka.communications.models import Delivery, Endpoint, EndpointSecret
from kopilka.core import audit, clock
from kopilka.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kopilka.core.models import OutboxEvent

EVENT_TYPES = {
    "member.created": gettext_lazy("member created"),
    "member.updated": gettext_lazy("member changed"),
    "order.paid": gettext_lazy("order paid"),
    "order.returned": gettext_lazy("order returned"),
    "tier.changed": gettext_lazy("tier changed"),
    "points.accrued": gettext_lazy("points accrued"),
    "points.spent": gettext_lazy("points spent"),
    "points.burned": gettext_lazy("points burned"),
    "points.expiring": gettext_lazy("points about to burn"),
    "journey.step": gettext_lazy("journey step taken"),
}
TEST_EVENT = "webhook.test"
ROTATION_OVERLAP = timedelta(hours=24)  # a rotated-out secret still signs this long
PRIVATE_RIGHT = "communications.allow_private_webhook_addresses"
URL_LENGTH = Endpoint._meta.get_field("url").max_length


def create_endpoint(user, *, url: str, event_types: list[str], description: str = "",
                    allow_private: bool = False, actor: str | None = None) -> tuple[Endpoint, str]:
    """A new enabled endpoint with its first secret; returns both (the secret is shown once)."""
    if allow_private:
        _require_private_right(user)
    url, event_types = _checked(url, event_types, allow_private)
    now = clock.now()
    with transaction.atomic():
        endpoint = Endpoint.objects.create(url=url, description=description, event_types=event_types,
                                           allow_private=allow_private, created_at=now, updated_at=now)
        secret = _new_secret(endpoint)
        _audit(user, endpoint, "webhook.created", _("Created webhook endpoint %(url)s") % {"url": url},
               {"event_types": event_types, "allow_private": allow_private}, actor=actor)
    return endpoint, secret


def change_endpoint(user, endpoint_id: int, *, url: str, event_types: list[str], description: str,
                    is_enabled: bool, allow_private: bool, actor: str | None = None) -> Endpoint:
    """Saves the endpoint's fields. Turning it on again clears why it was off and its failing streak; turning
    it off records who did. Allowing private addresses, and changing the address of an endpoint that allows
    them, need the administrator's right (`PRIVATE_RIGHT`)."""
    found = _found(Endpoint.objects.all(), endpoint_id)
    if allow_private != found.allow_private or (allow_private and url != found.url):
        _require_private_right(user)
    url, event_types = _checked(url, event_types, allow_private)  # resolves the host: outside the transaction
    with transaction.atomic():
        endpoint = _locked(endpoint_id)
        before = {field: getattr(endpoint, field) for field in ("url", "event_types", "description", "is_enabled",
                                                                 "allow_private")}
        endpoint.url, endpoint.event_types, endpoint.description = url, event_types, description
        endpoint.allow_private = allow_private
        if is_enabled and not endpoint.is_enabled:
            endpoint.is_enabled, endpoint.disabled_reason, endpoint.disabled_at = True, "", None
            endpoint.failing_since = None
        elif not is_enabled and endpoint.is_enabled:
            endpoint.is_enabled, endpoint.disabled_at = False, clock.now()
            endpoint.disabled_reason = _("Disabled by %(who)s") % {"who": _who(user, actor)}
        changed = sorted(field for field, value in before.items() if getattr(endpoint, field) != value)
        endpoint.updated_at = clock.now()
        endpoint.save()
        _audit(user, endpoint, "webhook.changed", _("Changed webhook endpoint %(url)s: %(fields)s") % {
            "url": url, "fields": ", ".join(changed) or "—"}, {"fields": changed}, actor=actor)
    return endpoint


def rotate_secret(user, endpoint_id: int, *, actor: str | None = None) -> str:
    """A new secret; those in use keep signing for `ROTATION_OVERLAP` (both signatures go with every request),
    then retire. Returns the new secret (shown once)."""
    with transaction.atomic():
        endpoint = _locked(endpoint_id)
        now = clock.now()
        in_use(endpoint).filter(retires_at__isnull=True).update(retires_at=now + ROTATION_OVERLAP)
        secret = _new_secret(endpoint)
        _audit(user, endpoint, "webhook.secret_rotated",
               _("Rotated the secret of webhook endpoint %(url)s") % {"url": endpoint.url}, actor=actor)
    return secret


def retire_old_secrets(user, endpoint_id: int, *, actor: str | None = None) -> int:
    """Retires at once every secret but the newest (the receiver has switched); returns how many."""
    with transaction.atomic():
        endpoint = _locked(endpoint_id)
        newest = endpoint.secrets.order_by("-id").first()
        retired = in_use(endpoint).exclude(pk=newest.pk if newest else None).update(retires_at=clock.now())
        _audit(user, endpoint, "webhook.secrets_retired",
               _("Retired the old secrets of webhook endpoint %(url)s") % {"url": endpoint.url}, actor=actor)
    return retired


def get_endpoint(endpoint_id: int) -> Endpoint:
    """The endpoint, or NotFound."""
    return _found(Endpoint.objects.all(), endpoint_id)


def in_use(endpoint: Endpoint):
    """The secrets that sign requests now, oldest first."""
    return EndpointSecret.objects.filter(endpoint=endpoint).exclude(retires_at__lte=clock.now()).order_by("id")


def send_test_event(user, endpoint_id: int, *, actor: str | None = None) -> Delivery:
    """A `webhook.test` event for this endpoint alone, delivered by the worker like any other."""
    with transaction.atomic():
        endpoint = _locked(endpoint_id)
        now = clock.now()
        event = OutboxEvent.objects.create(
            type=TEST_EVENT, subject=f"webhook:{endpoint.pk}", occurred_at=now, dispatched_at=now,
            payload={"endpoint_id": endpoint.pk, "sent_by": _who(user, actor)},
        )
        delivery = Delivery.objects.create(endpoint=endpoint, event=event, created_at=now, window_from=now)
        _audit(user, endpoint, "webhook.test_sent",
               _("Sent a test event to webhook endpoint %(url)s") % {"url": endpoint.url}, actor=actor)
    return delivery


def replay(user, delivery_id: int, *, actor: str | None = None) -> Delivery:
    """Sends the delivery again with the same webhook-id: it is pending again with a new retry window and the
    schedule from its start (its count of tries starts again; the earlier tries stay in its log). The endpoint
    must be enabled."""
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().select_related("endpoint").filter(pk=delivery_id).first()
        if delivery is None:
            raise NotFound(_("No such delivery."), code="webhook_delivery_not_found")
        if not delivery.endpoint.is_enabled:
            raise Conflict(_("The endpoint is disabled: enable it before replaying its deliveries."),
                           code="webhook_endpoint_disabled", details={"endpoint_id": delivery.endpoint_id})
        now = clock.now()
        delivery.status, delivery.window_from, delivery.next_try_at = Delivery.Status.PENDING, now, None
        delivery.attempts, delivery.lease_until, delivery.leased_by = 0, None, ""
        delivery.save(update_fields=["status", "window_from", "next_try_at", "attempts", "lease_until", "leased_by"])
        _audit(user, delivery.endpoint, "webhook.replayed", _("Replayed delivery %(id)s to %(url)s") % {
            "id": delivery.webhook_id, "url": delivery.endpoint.url}, {"delivery": delivery.pk}, actor=actor)
    return delivery


def delivery_of(endpoint_id: int, event_id: int) -> Delivery:
    """The endpoint's delivery of the event (one at most: `delivery_once_per_endpoint`), to replay it."""
    found = Delivery.objects.filter(endpoint_id=get_endpoint(endpoint_id).pk, event_id=event_id).first()
    if found is None:
        raise NotFound(_("The endpoint was never sent this event."), code="webhook_delivery_not_found",
                       details={"endpoint_id": endpoint_id, "event_id": event_id})
    return found


def _checked(url: str, event_types: list[str], allow_private: bool) -> tuple[str, list[str]]:
    url = (url or "").strip()
    if len(url) > URL_LENGTH:
        raise ValidationFailed(_("The webhook address is longer than %(limit)d characters.") % {"limit": URL_LENGTH},
                               code="webhook_address_invalid", details={"field": "url"})
    webhook_addresses.target(url, allow_private=allow_private)
    unknown = sorted(set(event_types) - set(EVENT_TYPES))
    if unknown or not event_types:
        raise ValidationFailed(_("Choose at least one event type from the list."), code="webhook_event_types",
                               details={"field": "event_types", "unknown": unknown})
    return url, [name for name in EVENT_TYPES if name in event_types]


def _require_private_right(user) -> None:
    if user is None or not user.has_perm(PRIVATE_RIGHT):
        raise PermissionDenied(_("Only an administrator may allow webhooks to private addresses."),
                               code="webhook_private_not_allowed", details={"field": "allow_private"})


def _locked(endpoint_id: int) -> Endpoint:
    return _found(Endpoint.objects.select_for_update(), endpoint_id)


def _found(endpoints, endpoint_id: int) -> Endpoint:
    endpoint = endpoints.filter(pk=endpoint_id).first()
    if endpoint is None:
        raise NotFound(_("No such webhook endpoint."), code="webhook_endpoint_not_found")
    return endpoint


def _new_secret(endpoint: Endpoint) -> str:
    secret = webhook_signing.new_secret()
    EndpointSecret.objects.create(endpoint=endpoint, secret=secret, created_at=clock.now())
    return secret


def _who(user, actor: str | None) -> str:
    """The username of a person, or the integration's actor."""
    return actor if user is None and actor else user.get_username()


def _audit(user, endpoint: Endpoint, action: str, summary: str, details: dict | None = None, *,
           actor: str | None = None) -> None:
    audit.record(user, action, summary, target=f"communications.endpoint:{endpoint.pk}", details=details,
                 actor=None if user is not None else actor)
