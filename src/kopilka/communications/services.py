"""The outbox of every channel: recording messages under the delivery rules (`rules`), and sending them.

Sending claims a chunk of due messages, claims each one again right before its send and cuts the send off at
`send_limit()`, inside that claim, so two workers never send one message at once. A failed try is repeated after
growing pauses (`pause()`) until `RETRY_FOR` after its first try, so an outage of hours is survived — also by a
message that waited out quiet hours or a mailing's pace before that try (the wait does not count).
Right before its send a message is held to the rules once more: one past its relevance (`relevant_until`) or
whose consent was withdrawn meanwhile is skipped, and a marketing message whose time has come inside quiet hours
waits until they end (that wait is not a try). Then a message recorded without its text gets it from the filler of
its kind (`fill_at_send`; the composition root, `kopilka.runtime`, gives mailings and journeys theirs).
"""

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils.translation import gettext as _

from kopilka.communications import claims, email, rules, sms, unsubscribe
from kopilka.communications.cut_off import SendFailed
from kopilka.communications.models import Attempt, Message
from kopilka.core import clock, programme
from kopilka.core.errors import ApplicationError, ValidationFailed
from kopilka.customers.errors import member_not_found
from kopilka.customers.models import Member
from kopilka.customers.selectors import consents_in_force
from kopilka.customers.validators import normalise_phone

BATCH = 200
SEND_TIMEOUTS = 10  # a send is cut off after this many EMAIL_TIMEOUTs
LEASE_MARGIN = timedelta(seconds=30)
FIRST_PAUSE = timedelta(minutes=1)
LONGEST_PAUSE = timedelta(hours=1)
RETRY_FOR = timedelta(hours=24)  # how long after its first try a message is still tried; then it is failed
SENDERS = {Message.Channel.EMAIL: email.send, Message.Channel.SMS: sms.send}
COUNTED = (Message.Status.QUEUED, Message.Status.SENT, Message.Status.DELIVERED)  # against the frequency cap

Filler = Callable[[Message, str], bool]
FILLERS: dict[str, Filler] = {}  # Message.kind → its filler (`fill_at_send`)

log = logging.getLogger(__name__)


def fill_at_send(kind: str, filler: Filler) -> None:
    """The messages of `kind` recorded without a text get it from `filler` right before their send.
    `filler(message, worker)` writes the text of the message the worker holds (into `message` too) and returns True,
    or returns False when the message may not go after all and records why; an ApplicationError it raises fails the
    message with its reason. One filler per kind: another for a kind that has one is refused."""
    if FILLERS.setdefault(kind, filler) is not filler:
        raise ImproperlyConfigured(f"messages of kind {kind!r} have a filler already")


def send_limit() -> timedelta:
    """The longest one message's send may take, on any channel. EMAIL_TIMEOUT bounds each socket operation, not
    the conversation: a slow but live server is cut off after this."""
    return SEND_TIMEOUTS * timedelta(seconds=settings.EMAIL_TIMEOUT)


def lease() -> timedelta:
    """How long a claim holds a message. Renewed right before the send, which is cut off at `send_limit()`, it
    outlasts the send; a dead worker's message is tried again after it."""
    return send_limit() + LEASE_MARGIN


def pause(tries: int) -> timedelta:
    """The wait before the next try after `tries` failed ones: 1, 2, 4 … minutes, at most an hour."""
    return min(FIRST_PAUSE * 2 ** min(tries - 1, 12), LONGEST_PAUSE)


def notify(member_id: int, *, kind: str, source: str, subject: str, body: str,
           channel: str = Message.Channel.EMAIL, purpose: str = Message.Purpose.TRANSACTIONAL,
           relevant_until: datetime | None = None) -> Message:
    """Record a message to the member (once per kind and source); the worker sends it. One that may not go is
    recorded as skipped with the reason (`rules`), one already past `relevant_until` as too late; a marketing one
    due in quiet hours waits until they end. A marketing e-mail carries its unsubscribe link, so it is refused
    (ValidationFailed) while the programme has no public address."""
    if channel not in SENDERS or purpose not in Message.Purpose.values:
        raise ValidationFailed(_("Unknown channel or purpose of a message."), code="unknown_channel",
                               details={"channel": channel, "purpose": purpose})
    if (earlier := Message.objects.filter(kind=kind, source=source).first()) is not None:
        return earlier
    check_public_url(channel, purpose)
    try:
        with transaction.atomic():
            now = clock.now()
            decided = _decided(member_id, channel, purpose, body, now)
            if rules.too_late(now, relevant_until) and decided["status"] == Message.Status.QUEUED:
                decided = {**decided, "status": Message.Status.SKIPPED, "skip_reason": Message.SkipReason.TOO_LATE}
            return Message.objects.create(member_id=member_id, kind=kind, source=source, subject=subject,
                                          channel=channel, purpose=purpose, created_at=now,
                                          relevant_until=relevant_until, **decided)
    except IntegrityError:  # the same notice recorded meanwhile
        return Message.objects.get(kind=kind, source=source)


def check_public_url(channel: str, purpose: str) -> None:
    """A marketing e-mail carries its unsubscribe link: refused (ValidationFailed) while the programme has no public
    address."""
    if purpose == Message.Purpose.MARKETING and channel == Message.Channel.EMAIL and not programme.value("PUBLIC_URL"):
        raise ValidationFailed(
            _("Marketing e-mail carries an unsubscribe link: set the platform's public address first "
              "(channel settings, or KOPILKA_PUBLIC_URL)."), code="public_url_missing")


def _decided(member_id: int, channel: str, purpose: str, body: str, now: datetime) -> dict:
    """The message's address, text and fate under the rules. A marketing message locks its member first, so two
    recorded at once are counted against the cap one after the other."""
    marketing = purpose == Message.Purpose.MARKETING
    found = Member.objects.select_related("region")
    if marketing:
        found = found.select_for_update(no_key=True, of=("self",))
    member = found.filter(pk=member_id).first()
    if member is None:
        raise member_not_found(member_id)
    to, reason = _address(member, channel)
    reason = reason or rules.consent_reason(_consent(member_id, channel))
    if marketing and reason is None:
        reason = rules.cap_reason(_counted(member_id, channel, now), programme.value("MARKETING_CAP_MESSAGES"))
    if reason is not None:
        return {"to": to, "body": body, "status": Message.Status.SKIPPED, "skip_reason": reason}
    decided = {"to": to, "body": body, "status": Message.Status.QUEUED}
    if marketing:
        decided["next_try_at"] = _quiet_until(member, now)
        if channel == Message.Channel.EMAIL:
            decided["unsubscribe_url"] = link = unsubscribe.url(member_id, channel)
            decided["body"] = unsubscribe.with_link(body, link)
    return decided


def _address(member: Member, channel: str) -> tuple[str, str | None]:
    """The member's address on the channel (a phone in E.164), or why there is none."""
    given = member.email if channel == Message.Channel.EMAIL else member.phone
    if not given:
        return "", Message.SkipReason.NO_ADDRESS
    if channel == Message.Channel.SMS:
        try:
            return normalise_phone(given), None
        except ValidationFailed:
            return given, Message.SkipReason.NOT_A_PHONE
    return given, None


def _consent(member_id: int, channel: str) -> bool | None:
    consent = consents_in_force([member_id]).get(member_id, {}).get(channel)
    return None if consent is None else consent.granted


def _counted(member_id: int, channel: str, now: datetime) -> int:
    """Marketing messages to the member on the channel that count against the cap now."""
    since = now - timedelta(days=programme.value("MARKETING_CAP_DAYS"))
    return Message.objects.filter(member_id=member_id, channel=channel, purpose=Message.Purpose.MARKETING,
                                  status__in=COUNTED, created_at__gt=since).count()


def _quiet_until(member: Member, now: datetime) -> datetime | None:
    """When the quiet hours the member is in now end, on the clock of their region (else the programme's)."""
    zone = ZoneInfo(member.region.time_zone) if member.region and member.region.time_zone else clock.programme_tz()
    return rules.quiet_until(now, zone, programme.quiet_hours_window(programme.value("QUIET_HOURS")))


def deliver_queued(limit: int = BATCH) -> int:
    """Send up to `limit` queued messages that are due, oldest first, in claimed chunks; returns how many were
    sent. A message that fails waits `pause()` and is tried again, until no try is left within `RETRY_FOR` of its
    first try: then it is failed with the last error. Messages another worker holds are skipped, and so is a
    claimed one that another worker took over when this claim ran out; a claim whose worker died runs out after
    `lease()` and the message is tried again (same Message-ID)."""
    return claims.drain(_claim, _send, limit)


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
    if _held_back(message, worker) or not _filled(message, worker):
        return 0
    taken = _take(message, worker)
    if taken is None:
        log.info("message %s skipped: another worker took it over", message.pk)
        return 0
    attempt, deadline = taken
    try:
        provider_id = SENDERS[message.channel](message, deadline)
    except SendFailed as failure:
        log.warning("message %s not sent: %s", message.pk, failure)
        _record(message, attempt, worker, error=str(failure)[:2000] or type(failure).__name__)
        return 0
    _record(message, attempt, worker, error="", provider_id=provider_id)
    return 1


def _filled(message: Message, worker: str) -> bool:
    """A message recorded without its text gets it from the filler of its kind (`fill_at_send`) right before its
    send; one whose text cannot be made (its template is gone) fails with the reason. True: it has its text."""
    filler = FILLERS.get(message.kind)
    if filler is None or message.body:
        return True
    try:
        return filler(message, worker)
    except ApplicationError as refused:
        Message.objects.filter(pk=message.pk, leased_by=worker, status=Message.Status.QUEUED).update(
            status=Message.Status.FAILED, error=str(refused.message), lease_until=None, leased_by="",
            next_try_at=None)
        return False


def _held_back(message: Message, worker: str) -> bool:
    """Hold the claimed message to the rules right before its send: skipped when its relevance has run out or the
    member's consent is no longer in force, waiting (no try) when it is marketing and the member is in quiet hours.
    True: it is not sent now."""
    mine = Message.objects.filter(pk=message.pk, leased_by=worker, status=Message.Status.QUEUED)
    too_late = rules.too_late(clock.now(), message.relevant_until)
    reason = Message.SkipReason.TOO_LATE if too_late else rules.consent_reason(
        _consent(message.member_id, message.channel))
    if reason is not None:
        mine.update(status=Message.Status.SKIPPED, skip_reason=reason, lease_until=None, leased_by="",
                    next_try_at=None)
        return True
    if message.purpose == Message.Purpose.MARKETING:
        member = Member.objects.select_related("region").get(pk=message.member_id)
        if (until := _quiet_until(member, clock.now())) is not None:
            mine.update(next_try_at=until, lease_until=None, leased_by="")
            return True
    return False


def _record(message: Message, attempt: Attempt, worker: str, *, error: str, provider_id: str = "") -> None:
    """The try's outcome and the message's new state, together; the claim ends. A failed message waits `pause()`
    for its next try, or is failed when that try would come later than `RETRY_FOR` after its first try (the
    earliest `Attempt`: waits before it, in quiet hours or at a mailing's pace, do not count). A worker that no
    longer holds the message still records its try, but leaves the message to the new holder."""
    now = clock.now()
    with transaction.atomic():
        Attempt.objects.filter(pk=attempt.pk).update(
            finished_at=now, outcome=Attempt.Outcome.FAILED if error else Attempt.Outcome.SENT, error=error
        )
        mine = Message.objects.filter(pk=message.pk, leased_by=worker, status=Message.Status.QUEUED)
        if not error:
            mine.update(status=Message.Status.SENT, sent_at=now, attempts=F("attempts") + 1, error="",
                        provider_id=provider_id, next_try_at=None, lease_until=None, leased_by="")
            return
        next_try = now + pause(message.attempts + 1)  # the worker has held the message since it read it
        gives_up = next_try > _first_try(message) + RETRY_FOR
        mine.update(attempts=F("attempts") + 1, error=error, lease_until=None, leased_by="",
                    next_try_at=None if gives_up else next_try,
                    status=Message.Status.FAILED if gives_up else Message.Status.QUEUED)


def _first_try(message: Message) -> datetime:
    """When the message was first tried: its earliest attempt (there is one once a try is recorded)."""
    return Attempt.objects.filter(message_id=message.pk).order_by("started_at").values_list(
        "started_at", flat=True)[0]
