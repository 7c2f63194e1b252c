"""Recording notices and sending them over SMTP (Django's e-mail settings: KOPILKA_SMTP_* in the environment)."""

import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction

from kopilka.communications.models import Message
from kopilka.core import clock
from kopilka.customers.models import Consent, Member
from kopilka.customers.selectors import consents_in_force

MAX_ATTEMPTS = 5
BATCH = 200
log = logging.getLogger(__name__)


def notify(member_id: int, *, kind: str, source: str, subject: str, body: str) -> Message:
    """Record a notice for the member (once per kind and source); the worker sends it. Without an e-mail address
    or e-mail consent in force it is recorded as skipped."""
    if (earlier := Message.objects.filter(kind=kind, source=source).first()) is not None:
        return earlier
    email = Member.objects.filter(pk=member_id).values_list("email", flat=True).first() or ""
    consent = consents_in_force([member_id]).get(member_id, {}).get(Consent.Channel.EMAIL)
    allowed = bool(email) and consent is not None and consent.granted
    try:
        with transaction.atomic():
            return Message.objects.create(
                member_id=member_id, kind=kind, source=source, to=email, subject=subject, body=body,
                status=Message.Status.QUEUED if allowed else Message.Status.SKIPPED, created_at=clock.now(),
            )
    except IntegrityError:  # the same notice recorded meanwhile
        return Message.objects.get(kind=kind, source=source)


def deliver_queued(limit: int = BATCH) -> int:
    """Send up to `limit` queued messages, oldest first; returns how many were sent. A message that fails is tried
    again on the next runs, then marked failed with the error."""
    sent = 0
    for message in Message.objects.filter(status=Message.Status.QUEUED).order_by("id")[:limit]:
        try:
            EmailMessage(message.subject, message.body, settings.DEFAULT_FROM_EMAIL, [message.to]).send()
        except OSError as error:  # SMTP errors are OSErrors too
            message.attempts += 1
            message.error = str(error)[:2000]
            if message.attempts >= MAX_ATTEMPTS:
                message.status = Message.Status.FAILED
            message.save(update_fields=["attempts", "error", "status"])
            log.warning("message %s not sent: %s", message.pk, error)
            continue
        message.status, message.sent_at, message.attempts = Message.Status.SENT, clock.now(), message.attempts + 1
        message.save(update_fields=["status", "sent_at", "attempts"])
        sent += 1
    return sent
