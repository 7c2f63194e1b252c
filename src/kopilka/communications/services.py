"""Recording notices and sending them over SMTP (Django's e-mail settings: KOPILKA_SMTP_* in the environment).
Sending claims messages first, so overlapping workers never send one message twice at once."""

import logging
import uuid
from datetime import timedelta
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import Case, F, Q, Value, When

from kopilka.communications.models import Attempt, Message
from kopilka.core import clock
from kopilka.customers.models import Consent, Member
from kopilka.customers.selectors import consents_in_force

MAX_ATTEMPTS = 5
BATCH = 200
CHUNK = 20  # messages claimed at once
LEASE_MARGIN = timedelta(seconds=30)


def lease() -> timedelta:
    """How long a claim holds its messages: long enough to send a whole chunk at EMAIL_TIMEOUT each, so a live
    worker never loses its claim; a dead worker's messages are tried again after it."""
    return CHUNK * timedelta(seconds=settings.EMAIL_TIMEOUT) + LEASE_MARGIN
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
    """Send up to `limit` queued messages, oldest first, in claimed chunks; returns how many were sent. A message
    that fails is tried again on the next runs, then marked failed with the error. Messages another worker holds
    are skipped; a claim whose worker died runs out after `lease()` and the message is tried again (same Message-ID)."""
    worker, sent, after = uuid.uuid4().hex, 0, 0
    while limit > 0:
        claimed = _claim(worker, min(limit, CHUNK), after=after)
        if not claimed:
            break
        limit, after = limit - len(claimed), claimed[-1][0].pk
        for message, attempt in claimed:
            sent += _send(message, attempt, worker)
    return sent


def message_id(message: Message) -> str:
    """The message's Message-ID, the same on every try."""
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "localhost"
    return f"<{message.uid}@{domain}>"


def _claim(worker: str, limit: int, *, after: int) -> list[tuple[Message, Attempt]]:
    """Lease up to `limit` queued messages past id `after` that no live claim holds, and start an attempt for
    each (a run tries a message once)."""
    now = clock.now()
    with transaction.atomic():
        ids = list(
            Message.objects.select_for_update(skip_locked=True)
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now), status=Message.Status.QUEUED, id__gt=after)
            .order_by("id").values_list("id", flat=True)[:limit]
        )
        if not ids:
            return []
        Message.objects.filter(id__in=ids).update(lease_until=now + lease(), leased_by=worker)
        messages = list(Message.objects.filter(id__in=ids).order_by("id"))
        attempts = Attempt.objects.bulk_create(
            [Attempt(message=message, worker=worker, started_at=now) for message in messages]
        )
    return list(zip(messages, attempts, strict=True))


def _send(message: Message, attempt: Attempt, worker: str) -> int:
    """Send one claimed message and record the try; 1 when it went out."""
    mail = EmailMessage(message.subject, message.body, settings.DEFAULT_FROM_EMAIL, [message.to],
                        headers={"Message-ID": message_id(message)})
    try:
        mail.send()
    except OSError as error:  # SMTP errors are OSErrors too
        log.warning("message %s not sent: %s", message.pk, error)
        _record(message, attempt, worker, error=str(error)[:2000])
        return 0
    _record(message, attempt, worker, error="")
    return 1


def _record(message: Message, attempt: Attempt, worker: str, *, error: str) -> None:
    """The try's outcome and the message's new state, together; the claim ends (a failed message waits for the
    next run). A worker whose claim ran out still records its try, but leaves the message to the new holder."""
    now = clock.now()
    with transaction.atomic():
        Attempt.objects.filter(pk=attempt.pk).update(
            finished_at=now, outcome=Attempt.Outcome.FAILED if error else Attempt.Outcome.SENT, error=error
        )
        mine = Message.objects.filter(pk=message.pk, leased_by=worker, status=Message.Status.QUEUED)
        if not error:
            mine.update(status=Message.Status.SENT, sent_at=now, attempts=F("attempts") + 1, error="",
                        lease_until=None, leased_by="")
            return
        mine.update(attempts=F("attempts") + 1, error=error, lease_until=None, leased_by="",
                    status=Case(When(attempts__gte=MAX_ATTEMPTS - 1, then=Value(Message.Status.FAILED)),
                                default=Value(Message.Status.QUEUED)))
