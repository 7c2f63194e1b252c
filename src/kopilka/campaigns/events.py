"""Events that event campaigns reward (SPEC §2.3): registration, subscription, review, training completed,
birthday, barcode scan, event attendance, custom — and the daily birthday run.

Recording an event is idempotent per member and key: the same key again returns the first record and books
nothing. What it earns follows the live "on event" campaigns, their conditions, budgets and limits.
"""

from dataclasses import dataclass
from datetime import datetime
from functools import reduce
from operator import or_

from django.db import IntegrityError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kopilka.campaigns.conditions import birthdays_near
from kopilka.campaigns.engine import Decision, decide
from kopilka.campaigns.facts import member_facts
from kopilka.campaigns.granting import grant
from kopilka.campaigns.locking import plan_for, with_points_locks
from kopilka.campaigns.models import EventType, MemberEvent
from kopilka.campaigns.selectors import live_campaigns, with_member_limits
from kopilka.core import clock
from kopilka.core.errors import Conflict, ValidationFailed
from kopilka.customers.errors import member_not_found
from kopilka.customers.models import Member


@dataclass(frozen=True)
class EventOutcome:
    event: MemberEvent
    decisions: list[Decision]  # empty for a replay
    replayed: bool


def record_event(
    *, member_id: int, type: str, key: str, actor: str, occurred_at: datetime | None = None, details: dict | None = None
) -> EventOutcome:
    if not EventType.objects.filter(code=type, is_active=True).exists():
        known = list(EventType.objects.filter(is_active=True).values_list("code", flat=True))
        raise ValidationFailed(_("Unknown event type."), code="unknown_event_type",
                               details={"type": type, "known": known})
    if not key or len(key) > 200:
        raise ValidationFailed(_("An event needs a key of at most 200 characters."), code="event_key_invalid")
    now = clock.now()
    at = clock.make_aware(occurred_at) if occurred_at else now
    if at > now:
        raise ValidationFailed(_("An event cannot be dated in the future."), code="event_in_future")
    if (earlier := _earlier(member_id, key, type)) is not None:
        return EventOutcome(earlier, [], True)
    live = live_campaigns(at)  # read once: under the locks, budgets are the locked shards' and limits read anew
    plan = plan_for(member_id, live, scenario="event", event_type=type)

    def record(locks, _head) -> EventOutcome:
        member = locks.member  # read by the statement that locked it
        if member is None:
            raise member_not_found(member_id)
        if (earlier := _earlier(member_id, key, type)) is not None:  # recorded while this request waited
            return EventOutcome(earlier, [], True)
        event = MemberEvent.objects.create(member_id=member_id, type=type, key=key, occurred_at=at,
                                           details=details or {}, actor=actor, created_at=now)
        decisions = []
        if member.can_earn_or_spend:
            campaigns = locks.live(with_member_limits(live, member_id, at))
            facts = member_facts(member_id, at, member=member, campaigns=campaigns)
            decisions = decide(campaigns, facts, scenario="event", event_type=type)
            booked = grant(decisions, locks, at, actor=actor, key=f"event:{event.pk}")
            event.points = sum(entry.amount for _, entry in booked)
            event.save(update_fields=["points"])
        return EventOutcome(event, decisions, False)

    try:
        return with_points_locks(plan, record)
    except IntegrityError:  # the same event recorded at this moment by a retry
        if (earlier := _earlier(member_id, key, type)) is not None:
            return EventOutcome(earlier, [], True)
        raise


def _earlier(member_id: int, key: str, type: str) -> MemberEvent | None:
    """The event recorded under this key before, if any; a key used for an event of another type is refused."""
    earlier = MemberEvent.objects.filter(member_id=member_id, key=key).first()
    if earlier is not None and earlier.type != type:
        raise Conflict(_("This event key was used for another event."), code="event_key_reused", details={"key": key})
    return earlier


def birthdays(now: datetime | None = None, actor: str = "system:birthdays") -> int:
    """Records today's birthday (programme time zone) of every active member born on this day; idempotent per
    year. Returns how many birthdays were recorded now."""
    now = now or clock.now()
    today = clock.local_date(now)
    born_today = reduce(or_, (Q(birthday__month=m, birthday__day=d) for m, d in birthdays_near(today, 0)))
    recorded = 0
    for member_id in Member.objects.filter(born_today, status=Member.Status.ACTIVE).values_list("pk", flat=True):
        outcome = record_event(member_id=member_id, type="birthday", key=f"birthday:{today.year}", actor=actor,
                               occurred_at=now)
        recorded += not outcome.replayed
    return recorded
