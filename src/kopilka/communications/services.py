"""Recording notices and sending them over SMTP (Django's e-mail settings: KOPILKA_SMTP_* in the environment).

Sending claims a chunk of due messages, claims each one again right before its send and cuts the send off at
`send_limit()`, inside that claim, so two workers never send one message at once. A failed try is repeated after
growing pauses (`pause()`) until `RETRY_FOR` after the message was recorded, so an outage of hours is survived."""

import logging
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import timedelta
from email.utils import parseaddr
from smtplib import SMTPServerDisconnected

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, transaction
from django.db.models import F, Q

from kopilka.communications.models import Attempt, Message
from kopilka.core import clock
from kopilka.customers.models import Consent, Member
from kopilka.customers.selectors import consents_in_force

BATCH = 200
CHUNK = 20  # messages claimed at once
SEND_TIMEOUTS = 10  # a send is cut off after this many EMAIL_TIMEOUTs
LEASE_MARGIN = timedelta(seconds=30)
FIRST_PAUSE = timedelta(minutes=1)
LONGEST_PAUSE = timedelta(hours=1)
RETRY_FOR = timedelta(hours=24)  # how long after its recording a message is still tried; then it is failed
CUT_OFF_POLL_S = 0.05

log = logging.getLogger(__name__)


def send_limit() -> timedelta:
    """The longest one message's send may take. EMAIL_TIMEOUT bounds each socket operation, not the conversation:
    a slow but live server is cut off after this."""
    return SEND_TIMEOUTS * timedelta(seconds=settings.EMAIL_TIMEOUT)


def lease() -> timedelta:
    """How long a claim holds a message. Renewed right before the send, which is cut off at `send_limit()`, it
    outlasts the send; a dead worker's message is tried again after it."""
    return send_limit() + LEASE_MARGIN


def pause(tries: int) -> timedelta:
    """The wait before the next try after `tries` failed ones: 1, 2, 4 … minutes, at most an hour."""
    return min(FIRST_PAUSE * 2 ** min(tries - 1, 12), LONGEST_PAUSE)


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
    """Send up to `limit` queued messages that are due, oldest first, in claimed chunks; returns how many were
    sent. A message that fails waits `pause()` and is tried again, until no try is left within `RETRY_FOR` of its
    recording: then it is failed with the last error. Messages another worker holds are skipped, and so is a
    claimed one that another worker took over when this claim ran out; a claim whose worker died runs out after
    `lease()` and the message is tried again (same Message-ID)."""
    worker, sent, after = uuid.uuid4().hex, 0, 0
    while limit > 0:
        claimed, last = _claim(worker, min(limit, CHUNK), after=after)
        if last is None:
            break
        limit, after = limit - len(claimed), last
        for message in claimed:
            sent += _send(message, worker)
    return sent


def message_id(message: Message) -> str:
    """The message's Message-ID, the same on every try."""
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "localhost"
    return f"<{message.uid}@{domain}>"


def _claim(worker: str, limit: int, *, after: int) -> tuple[list[Message], int | None]:
    """Lease up to `limit` due queued messages past id `after` that no live claim holds; returns those this worker
    got and the last id looked at (None: nothing left). The lease is written only where it is still free, so of
    two workers that read the same free message one gets it."""
    now = clock.now()
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    due = Q(next_try_at__isnull=True) | Q(next_try_at__lte=now)
    with transaction.atomic():
        ids = list(
            Message.objects.select_for_update(skip_locked=True)
            .filter(free, due, status=Message.Status.QUEUED, id__gt=after)
            .order_by("id").values_list("id", flat=True)[:limit]
        )
        if not ids:
            return [], None
        Message.objects.filter(free, id__in=ids, status=Message.Status.QUEUED).update(
            lease_until=now + lease(), leased_by=worker
        )
        messages = list(Message.objects.filter(id__in=ids, leased_by=worker).order_by("id"))
    return messages, ids[-1]


def _take(message: Message, worker: str) -> tuple[Attempt, float] | None:
    """Claim the message again for one send, for `lease()` from now, if this worker still holds it (no other took
    it over once the chunk's claim ran out), and start the attempt; returns it and the monotonic moment by which
    the send is cut off, `send_limit()` from now. None: the message is not this worker's any more."""
    started = time.monotonic()
    now = clock.now()
    with transaction.atomic():
        mine = Message.objects.filter(pk=message.pk, leased_by=worker, status=Message.Status.QUEUED)
        if not mine.update(lease_until=now + lease()):
            return None
        attempt = Attempt.objects.create(message=message, worker=worker, started_at=now)
    return attempt, started + send_limit().total_seconds()


def _send(message: Message, worker: str) -> int:
    """Send one claimed message and record the try; 1 when it went out."""
    taken = _take(message, worker)
    if taken is None:
        log.info("message %s skipped: another worker took it over", message.pk)
        return 0
    attempt, deadline = taken
    backend = get_connection()
    mail = EmailMessage(message.subject, message.body, settings.DEFAULT_FROM_EMAIL, [message.to],
                        headers={"Message-ID": message_id(message)}, connection=backend)
    try:
        with _cut_off(backend, deadline) as cut:
            _hand_over(backend, mail, cut)
    except OSError as error:  # SMTP errors are OSErrors too
        text = f"cut off after {send_limit().total_seconds():g}s: {error}" if cut.is_set() else str(error)
        log.warning("message %s not sent: %s", message.pk, text)
        _record(message, attempt, worker, error=text[:2000])
        return 0
    _record(message, attempt, worker, error="")
    return 1


def _hand_over(backend, mail: EmailMessage, cut: threading.Event) -> None:
    """Connect, send the one message and hang up; nothing of the message goes out once `cut` is set."""
    try:
        backend.open()
        if cut.is_set():
            raise SMTPServerDisconnected("no time left to send")
        backend.send_messages([mail])
    finally:
        with suppress(OSError):  # the message's fate is decided before the goodbye
            backend.close()


@contextmanager
def _cut_off(backend, deadline: float) -> Iterator[threading.Event]:
    """Shut the backend's SMTP connection down at the monotonic moment `deadline`, whatever the send is doing then
    (every answer of a slow server may come within EMAIL_TIMEOUT while the whole send does not); yields the event
    set at that moment. The message goes over `backend.connection`, there once the connection is open (greeted,
    secured, signed in): one that opens later is shut at once."""
    done, cut = threading.Event(), threading.Event()

    def watch() -> None:
        if done.wait(max(0.0, deadline - time.monotonic())):
            return
        cut.set()
        while True:
            sock = getattr(getattr(backend, "connection", None), "sock", None)
            if sock is not None:
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            if done.wait(CUT_OFF_POLL_S):
                return

    watcher = threading.Thread(target=watch, name="smtp-cut-off", daemon=True)
    watcher.start()
    try:
        yield cut
    finally:
        done.set()
        watcher.join()


def _record(message: Message, attempt: Attempt, worker: str, *, error: str) -> None:
    """The try's outcome and the message's new state, together; the claim ends. A failed message waits `pause()`
    for its next try, or is failed when that try would come later than `RETRY_FOR` after its recording. A worker
    that no longer holds the message still records its try, but leaves the message to the new holder."""
    now = clock.now()
    with transaction.atomic():
        Attempt.objects.filter(pk=attempt.pk).update(
            finished_at=now, outcome=Attempt.Outcome.FAILED if error else Attempt.Outcome.SENT, error=error
        )
        mine = Message.objects.filter(pk=message.pk, leased_by=worker, status=Message.Status.QUEUED)
        if not error:
            mine.update(status=Message.Status.SENT, sent_at=now, attempts=F("attempts") + 1, error="",
                        next_try_at=None, lease_until=None, leased_by="")
            return
        next_try = now + pause(message.attempts + 1)  # the worker has held the message since it read it
        gives_up = next_try > message.created_at + RETRY_FOR
        mine.update(attempts=F("attempts") + 1, error=error, lease_until=None, leased_by="",
                    next_try_at=None if gives_up else next_try,
                    status=Message.Status.FAILED if gives_up else Message.Status.QUEUED)
