"""What a mailing's groups got and did: per variant, for the held-out members and for the programme's control group
(counted apart, as a campaign's results count it), in one set-based statement on either database.

- members: the recipients written down when it started; messages sent (sent or delivered), delivered (reported
  so by the channel: SMS), failed, skipped (with the outbox's reasons), still queued;
- opened: messages with an open or a click recorded (`tracking`: a click is an open too); clicked: with a click;
- converted: members with at least one counted order (paid, shipped, completed) bought from the mailing's start
  until `attribution_days` after it, the same window for every group, sent to or not — so a variant is compared
  with the held-out members over the same days; revenue: those orders' totals, to the kopeck, and the sum over
  members of their revenue squared (roubles², for the spread of revenue per member).
Every recipient counts in their group whether their message went or was skipped: the groups stay what the hash made
them (intention to treat), so the comparison is fair.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import Count

from kopilka.communications.mailings.models import Mailing, MailingRecipient, MessageEvent
from kopilka.communications.models import Message
from kopilka.core import clock, sql
from kopilka.orders.models import COUNTED_STATUSES, Order

KOPECK = Decimal("0.01")


@dataclass(frozen=True)
class Group:
    group: int  # a variant's position, MailingRecipient.HELD_OUT or PROGRAMME_GROUP
    members: int = 0
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    skipped: int = 0
    queued: int = 0
    opened: int = 0
    clicked: int = 0
    converted: int = 0
    revenue: Decimal = Decimal("0.00")
    revenue_squares: float = 0.0

    def share(self, part: int) -> float | None:
        return part / self.members if self.members else None

    @property
    def conversion(self) -> float | None:
        return self.share(self.converted)


@dataclass(frozen=True)
class Results:
    since: datetime | None  # the window of conversions: from the start …
    until: datetime | None  # … until attribution_days later (or now, if earlier)
    variants: list[Group]  # by position, every variant (empty groups too)
    held_out: Group
    programme_group: Group

    @property
    def exposed(self) -> Group:
        """The variants together."""
        names = [name for name in Group.__dataclass_fields__ if name not in ("group", "revenue_squares",
                                                                              "revenue")]
        summed = {name: sum(getattr(g, name) for g in self.variants) for name in names}
        return Group(group=0, **summed, revenue=sum((g.revenue for g in self.variants), Decimal("0.00")),
                     revenue_squares=sum(g.revenue_squares for g in self.variants))


def window(mailing: Mailing) -> tuple[datetime, datetime] | None:
    """When purchases count as conversions: from the start for `attribution_days`, not past now."""
    if mailing.started_at is None:
        return None
    return mailing.started_at, min(mailing.started_at + timedelta(days=mailing.attribution_days), clock.now())


def results(mailing: Mailing) -> Results:
    positions = list(mailing.variants.order_by("position").values_list("position", flat=True))
    found = window(mailing)
    if found is None:
        return Results(None, None, [Group(p) for p in positions], Group(MailingRecipient.HELD_OUT),
                       Group(MailingRecipient.PROGRAMME_GROUP))
    since, until = found
    counted = ", ".join(f"'{status}'" for status in COUNTED_STATUSES)
    floating = "DOUBLE PRECISION" if connection.vendor == "postgresql" else "REAL"
    recipient, message = MailingRecipient._meta.db_table, Message._meta.db_table
    event, order = MessageEvent._meta.db_table, Order._meta.db_table
    status = {s: f"SUM(CASE WHEN x.status = '{s}' THEN 1 ELSE 0 END)" for s in Message.Status.values}
    rows = sql.rows(f"""
        WITH bought AS (
            SELECT o.member_id, {sql.exact_sum("o.total", sql.KOPECKS)} AS kopecks
            FROM {order} o JOIN {recipient} r ON r.member_id = o.member_id AND r.mailing_id = %s
            WHERE o.status IN ({counted}) AND o.purchased_at >= %s AND o.purchased_at < %s
            GROUP BY o.member_id
        ), seen AS (
            SELECT e.message_id, MAX(CASE WHEN e.kind = 'click' THEN 1 ELSE 0 END) AS clicked
            FROM {event} e JOIN {recipient} r ON r.message_id = e.message_id AND r.mailing_id = %s
            GROUP BY e.message_id
        )
        SELECT r.grp, COUNT(*), {status['sent']} + {status['delivered']}, {status['delivered']},
               {status['failed']}, {status['skipped']}, {status['queued']},
               COUNT(s.message_id), COALESCE(SUM(s.clicked), 0), COUNT(b.member_id), COALESCE(SUM(b.kopecks), 0),
               COALESCE(SUM(CAST(b.kopecks AS {floating}) * b.kopecks), 0)
        FROM {recipient} r LEFT JOIN {message} x ON x.id = r.message_id
        LEFT JOIN seen s ON s.message_id = r.message_id LEFT JOIN bought b ON b.member_id = r.member_id
        WHERE r.mailing_id = %s
        GROUP BY r.grp""", [mailing.pk, sql.at(since), sql.at(until), mailing.pk, mailing.pk])
    groups = {
        int(grp): Group(int(grp), *(int(n or 0) for n in counts),
                        revenue=(Decimal(int(kopecks)) / 100).quantize(KOPECK), revenue_squares=float(squares) / 10_000)
        for grp, *counts, kopecks, squares in rows
    }
    return Results(since, until, [groups.get(p, Group(p)) for p in positions],
                   groups.get(MailingRecipient.HELD_OUT, Group(MailingRecipient.HELD_OUT)),
                   groups.get(MailingRecipient.PROGRAMME_GROUP, Group(MailingRecipient.PROGRAMME_GROUP)))


def progress(mailing: Mailing) -> dict:
    """How far a mailing has gone: of its variants' members, how many messages are written and how many of those
    are done (sent, delivered, failed or skipped); percent of the whole, writing counted as its first tenth.
    `status` is "done" once the mailing is sent (what the back office's progress script waits for)."""
    counts = dict(Message.objects.filter(mailing_recipient__mailing=mailing).order_by().values_list("status")
                  .annotate(n=Count("pk")))
    to_write = MailingRecipient.objects.filter(mailing=mailing, group__gte=0).count()
    written = sum(counts.values())
    done = written - counts.get(Message.Status.QUEUED, 0)
    finished = mailing.status == Mailing.Status.SENT
    percent = 100 if finished or (to_write == 0 and mailing.started_at) else (
        int(10 * written / to_write + 90 * done / to_write) if to_write else 0)
    return {"status": "done" if finished else mailing.status, "progress": min(percent, 100), "to_write": to_write,
            "written": written, "done": done, "by_status": {s: counts.get(s, 0) for s in Message.Status.values}}
