"""Delivering webhooks from the outbox (the worker's periodic job):

1. `ledger_events.entries_to_events` turns the ledger's new entries into events, and
   `journeys.step_events.steps_to_events` the steps members' journey visits took;
2. `dispatch_events` hands every event not yet handed on to the enabled endpoints subscribed to its type, one
   `Delivery` per (event, endpoint), and marks the event dispatched, in one transaction (events still being
   written by uncommitted transactions are invisible here and are taken by a later run);
3. `deliver_due` sends the due pending deliveries: a chunk is claimed (leased) with `SKIP LOCKED`, each delivery
   claimed again right before its request, which is cut off at `SEND_LIMIT`, inside the claim — so two workers
   never send one delivery at once. Every try is a `DeliveryAttempt`.

A 2xx answer delivers; 410 Gone disables the endpoint at once; anything else (an error, a timeout, a redirect,
which is never followed, an address that is no longer public) is tried again on `webhook_retries`' schedule or at
`Retry-After`, until the window is over: then the delivery fails, and if nothing reached the endpoint since the
delivery's first try, the endpoint is disabled and the staff who manage webhooks get an e-mail.
"""

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from datetime import timedelta

import httpx
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F, Q
from django.utils import translation
from django.utils.translation import gettext as _

from kopilka.communications import claims, webhook_addresses, webhook_endpoints, webhook_retries, webhook_signing
from kopilka.communications.journeys.step_events import steps_to_events
from kopilka.communications.ledger_events import entries_to_events
from kopilka.communications.models import Delivery, DeliveryAttempt, Endpoint
from kopilka.core import clock
from kopilka.core.errors import ValidationFailed
from kopilka.core.models import OutboxEvent

BATCH = 200
EVENTS_PER_RUN = 2_000
DISPATCH_ROUNDS = 10  # events handed on per job at most: DISPATCH_ROUNDS × EVENTS_PER_RUN
SEND_LIMIT = timedelta(seconds=15)  # one request, connection to the last byte read
TIMEOUTS = httpx.Timeout(connect=5, read=10, write=10, pool=5)
LEASE = SEND_LIMIT + timedelta(seconds=30)
ANSWER_KEPT = 1000  # characters of an answer kept with its attempt
USER_AGENT = "Kopilka-Webhooks/1"

log = logging.getLogger(__name__)


def deliver_webhooks() -> int:
    """The periodic job: events from the ledger and the journeys' steps, then dispatch, then delivery; returns how
    many were delivered. What it writes for people (errors, reasons) is in the programme's language."""
    with translation.override(settings.LANGUAGE_CODE):
        entries_to_events()
        steps_to_events()
        for _round in range(DISPATCH_ROUNDS):
            if not dispatch_events():
                break
        return deliver_due()


def dispatch_events(limit: int = EVENTS_PER_RUN) -> int:
    """Hand up to `limit` undispatched events, oldest first, to their endpoints; returns how many were handed on.
    Workers running this at once take different events (`SKIP LOCKED`)."""
    now = clock.now()
    with transaction.atomic():
        events = list(OutboxEvent.objects.select_for_update(skip_locked=True).filter(dispatched_at__isnull=True)
                      .order_by("id").values_list("id", "type")[:limit])
        if not events:
            return 0
        endpoints = list(Endpoint.objects.filter(is_enabled=True).values_list("id", "event_types"))
        Delivery.objects.bulk_create(
            [Delivery(endpoint_id=endpoint_id, event_id=event_id, created_at=now, window_from=now)
             for event_id, event_type in events for endpoint_id, types in endpoints if event_type in types],
            ignore_conflicts=True, batch_size=500,
        )
        OutboxEvent.objects.filter(id__in=[event_id for event_id, _type in events]).update(dispatched_at=now)
    return len(events)


def deliver_due(limit: int = BATCH) -> int:
    """Send up to `limit` due pending deliveries of enabled endpoints, in claimed chunks; returns how many were
    delivered."""
    return claims.drain(_claim, _send, limit)


def body_of(delivery: Delivery) -> bytes:
    """The request's body: {"type", "timestamp", "data"}, the same bytes on every try."""
    event = delivery.event
    document = {"type": event.type, "timestamp": event.occurred_at, "data": event.payload}
    return json.dumps(document, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":")).encode()


def _claim(worker: str, limit: int, *, after: int) -> tuple[list[Delivery], int | None]:
    now = clock.now()
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    due = Q(next_try_at__isnull=True) | Q(next_try_at__lte=now)
    with transaction.atomic():
        ids = list(
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(free, due, status=Delivery.Status.PENDING, endpoint__is_enabled=True, id__gt=after)
            .order_by("id").values_list("id", flat=True)[:limit]
        )
        if not ids:
            return [], None
        Delivery.objects.filter(free, id__in=ids, status=Delivery.Status.PENDING).update(
            lease_until=now + LEASE, leased_by=worker)
        deliveries = list(Delivery.objects.filter(id__in=ids, leased_by=worker).select_related("endpoint", "event")
                          .order_by("id"))
    return deliveries, ids[-1]


def _take(delivery: Delivery, worker: str) -> DeliveryAttempt | None:
    """Claim the delivery again for one request, if this worker still holds it, and start the attempt."""
    now = clock.now()
    with transaction.atomic():
        mine = Delivery.objects.filter(pk=delivery.pk, leased_by=worker, status=Delivery.Status.PENDING)
        if not mine.update(lease_until=now + LEASE):
            return None
        return DeliveryAttempt.objects.create(delivery=delivery, worker=worker, started_at=now)


@dataclass(frozen=True)
class Answer:
    status_code: int | None = None
    text: str = ""
    error: str = ""
    retry_after: str | None = None
    duration_ms: int = 0


def _send(delivery: Delivery, worker: str) -> int:
    """One request for a claimed delivery, and its record; 1 when delivered."""
    attempt = _take(delivery, worker)
    if attempt is None:
        return 0
    endpoint = delivery.endpoint
    body = body_of(delivery)
    headers = webhook_signing.headers([s.secret for s in webhook_endpoints.in_use(endpoint)], delivery.webhook_id,
                                      int(clock.now().timestamp()), body)
    started = time.monotonic()
    try:
        host, port, addresses = webhook_addresses.target(endpoint.url, allow_private=endpoint.allow_private)
    except ValidationFailed as refused:
        answer = Answer(error=str(refused.message))
    else:
        answer = asyncio.run(_post(endpoint.url, host, addresses, headers, body))
    answer = Answer(answer.status_code, answer.text, answer.error, answer.retry_after,
                    int((time.monotonic() - started) * 1000))
    return _record(delivery, attempt, worker, answer)


async def _post(url: str, host: str, addresses: list, headers: dict[str, str], body: bytes) -> Answer:
    """POST to the first of the checked `addresses` that takes the connection — the host's name goes in the Host
    header and TLS's server name, so its certificate is checked against it — with no redirects, no proxies from
    the environment, and the whole exchange cut off at `SEND_LIMIT`."""
    try:
        return await asyncio.wait_for(_post_pinned(url, host, addresses, headers, body), SEND_LIMIT.total_seconds())
    except TimeoutError:
        return Answer(error=_("No answer within %(seconds)s s.") % {"seconds": f"{SEND_LIMIT.total_seconds():g}"})


async def _post_pinned(url: str, host: str, addresses: list, headers: dict[str, str], body: bytes) -> Answer:
    parts = httpx.URL(url)
    error = ""
    async with httpx.AsyncClient(timeout=TIMEOUTS, follow_redirects=False, trust_env=False) as client:
        for address in addresses:
            pinned = parts.copy_with(host=str(address))
            request = client.build_request(
                "POST", pinned, content=body, extensions={"sni_hostname": host},
                headers={**headers, "Host": parts.netloc.decode(), "Content-Type": "application/json",
                         "User-Agent": USER_AGENT},
            )
            try:
                response = await client.send(request, stream=True)
            except httpx.ConnectError as refused:
                error = f"{address}: {refused}"
                continue
            except httpx.HTTPError as failed:
                return Answer(error=f"{type(failed).__name__}: {failed}")
            try:
                text = await _first_characters(response)
            except httpx.HTTPError as failed:
                return Answer(status_code=response.status_code, error=f"{type(failed).__name__}: {failed}")
            finally:
                await response.aclose()
            return Answer(status_code=response.status_code, text=text,
                          retry_after=response.headers.get("retry-after"),
                          error=_redirect_error(response))
    return Answer(error=error or _("The host has no address."))


async def _first_characters(response: httpx.Response) -> str:
    kept = b""
    async for chunk in response.aiter_raw():
        kept += chunk
        if len(kept) >= ANSWER_KEPT * 4:
            break
    return kept.decode("utf-8", "replace")[:ANSWER_KEPT]


def _redirect_error(response: httpx.Response) -> str:
    if response.is_redirect:
        return _("Redirect to %(location)s not followed.") % {"location": response.headers.get("location", "?")}
    return ""


def _record(delivery: Delivery, attempt: DeliveryAttempt, worker: str, answer: Answer) -> int:
    """The attempt's outcome and the delivery's and endpoint's new state, together; the claim ends. A worker that
    lost its claim meanwhile records its attempt and leaves the delivery alone."""
    now = clock.now()
    delivered = answer.status_code is not None and 200 <= answer.status_code < 300 and not answer.error
    error = answer.error or ("" if delivered else _("Answered %(code)s.") % {"code": answer.status_code})
    disabled = ""
    with transaction.atomic():
        DeliveryAttempt.objects.filter(pk=attempt.pk).update(
            finished_at=now, status_code=answer.status_code, response=answer.text, error=error[:2000],
            duration_ms=answer.duration_ms)
        mine = Delivery.objects.filter(pk=delivery.pk, leased_by=worker, status=Delivery.Status.PENDING)
        endpoint = Endpoint.objects.select_for_update().get(pk=delivery.endpoint_id)
        if delivered:
            mine.update(status=Delivery.Status.DELIVERED, delivered_at=now, attempts=F("attempts") + 1, error="",
                        next_try_at=None, lease_until=None, leased_by="")
            Endpoint.objects.filter(pk=endpoint.pk).update(failing_since=None)
            return 1
        if endpoint.failing_since is None:  # the streak starts with this try
            endpoint.failing_since = attempt.started_at
            endpoint.save(update_fields=["failing_since"])
        if answer.status_code == 410:
            held = mine.update(status=Delivery.Status.FAILED, attempts=F("attempts") + 1, error=error,
                               lease_until=None, leased_by="", next_try_at=None)
            disabled = _("The receiver answered 410 Gone.")
        else:
            wait = webhook_retries.retry_after(answer.retry_after, now)
            next_try = now + (wait if wait is not None else webhook_retries.pause(delivery.attempts + 1))
            gives_up = next_try > delivery.window_from + webhook_retries.WINDOW
            held = mine.update(attempts=F("attempts") + 1, error=error, lease_until=None, leased_by="",
                               next_try_at=None if gives_up else next_try,
                               status=Delivery.Status.FAILED if gives_up else Delivery.Status.PENDING)
            if gives_up and endpoint.failing_since <= _first_try(delivery):
                disabled = _("Every try failed for %(hours)d hours.") % {
                    "hours": webhook_retries.WINDOW.total_seconds() // 3600}
        disabled = disabled if held and endpoint.is_enabled else ""
        if disabled:
            Endpoint.objects.filter(pk=endpoint.pk).update(is_enabled=False, disabled_reason=disabled,
                                                           disabled_at=now)
    if disabled:  # once the endpoint is off for good
        notify_managers(endpoint, disabled)
    return 0


def _first_try(delivery: Delivery):
    return DeliveryAttempt.objects.filter(delivery=delivery, started_at__gte=delivery.window_from).order_by(
        "started_at").values_list("started_at", flat=True).first()


def notify_managers(endpoint: Endpoint, reason: str) -> int:
    """An e-mail to every active staff member who manages webhooks and has an address: the endpoint was disabled,
    why, and where to turn it on again. Returns how many were sent; a mail server that fails is logged."""
    people = get_user_model().objects.with_perm("communications.manage_webhooks").filter(is_active=True,
                                                                                       is_staff=True)
    addresses = sorted({person.email for person in people if person.email})
    if not addresses:
        return 0
    with translation.override(settings.LANGUAGE_CODE):  # also when called on its own
        subject = _("Webhook endpoint disabled: %(url)s") % {"url": endpoint.url}
        text = _("The webhook endpoint %(url)s was disabled: %(reason)s\nIts deliveries wait until it is turned "
                 "on again on its page in the back office (Webhooks).") % {"url": endpoint.url, "reason": reason}
    try:
        return send_mail(subject, text, settings.DEFAULT_FROM_EMAIL, addresses)
    except OSError as failed:
        log.warning("the notice of disabled webhook endpoint %s was not sent: %s", endpoint.pk, failed)
        return 0
