"""Points about to burn, as `points.expiring` outbox events: one per member and burn day, covering every lot whose
last day it is — read set-based, one grouped query per day, after the fact (the nightly expiry and the ledger's
writes are not touched). The events feed both the webhooks and the burn notices.

A lot's last day is the programme's calendar day before the moment it expires (`ledger.selectors`); its points that
would burn are those free then (remaining less held). Each run records the days up to today + N (N: the burn
notice's days before) not recorded before (`ExpiringRead.through_day`), so a day the worker missed is caught up,
and an event is recorded once per member and day (its key).
"""

from datetime import UTC, date, timedelta

from django.db import transaction

from kopilka.communications import notice_settings
from kopilka.communications.notice_kinds import Kind
from kopilka.communications.notice_models import ExpiringRead
from kopilka.core import clock, outbox, sql
from kopilka.ledger.models import Account, Lot

MOST_DAYS_PER_RUN = 120

_BURNING = f"""
SELECT a.member_id, SUM(l.remaining - l.held), COUNT(*)
FROM {Lot._meta.db_table} l JOIN {Account._meta.db_table} a ON a.id = l.account_id
WHERE l.spendable AND NOT l.is_debt AND l.expires_at > %s AND l.expires_at <= %s
GROUP BY a.member_id ORDER BY a.member_id
"""


def record_expiring(today: date | None = None) -> int:
    """Record the coming burns of the days not yet recorded up to `today` (the programme's today) + N; returns how
    many events were new."""
    today = today or clock.local_date(clock.now())
    last = today + timedelta(days=notice_settings.days_before(Kind.POINTS_EXPIRING))
    ExpiringRead.objects.get_or_create(pk=1)
    recorded = 0
    with transaction.atomic():
        read = ExpiringRead.objects.select_for_update().get(pk=1)
        first = last if read.through_day is None else max(read.through_day + timedelta(days=1),
                                                          last - timedelta(days=MOST_DAYS_PER_RUN))
        day = first
        while day <= last:
            recorded += outbox.record_once(burning_on(day))
            day += timedelta(days=1)
        if read.through_day is None or read.through_day < last:
            read.through_day = last
            read.save()
    return recorded


def burning_on(day: date) -> list[tuple[str, str, str, dict, object]]:
    """The `points.expiring` events of the lots whose last day is `day`: one per member, (key, type, subject,
    payload, occurred_at) as `outbox.record_once` takes them."""
    burns_at = clock.end_of_day(day)
    now = clock.now()
    return [
        (f"points.expiring:{member_id}:{day.isoformat()}", "points.expiring", f"member:{member_id}",
         {"member_id": member_id, "points": int(points), "lots": lots, "last_day": day,
          "burns_at": burns_at.astimezone(UTC)}, now)
        for member_id, points, lots in sql.rows(_BURNING, [sql.at(clock.start_of_day(day)), sql.at(burns_at)])
        if points > 0
    ]
