"""A mailing's results per group against hand-counted stories: what was sent, opened and clicked, and who bought
within the attribution window from the start — the held-out members over the same days; cancelled orders and
purchases after the window do not count."""

from datetime import timedelta
from decimal import Decimal

import pytest

from kopilka.communications.mailings import building, results
from kopilka.communications.mailings import services as mailings
from kopilka.communications.mailings.models import Mailing, MailingRecipient, MessageEvent
from kopilka.communications.services import deliver_queued
from kopilka.orders.models import Order
from tests.analytics.programmes import buy
from tests.communications.mailings.conftest import draft, member

pytestmark = pytest.mark.django_db


def by_group(mailing: Mailing) -> dict[int, list[MailingRecipient]]:
    found: dict[int, list[MailingRecipient]] = {}
    for recipient in MailingRecipient.objects.filter(mailing=mailing).order_by("member_id"):
        found.setdefault(recipient.group, []).append(recipient)
    return found


def test_each_group_counts_its_sends_opens_clicks_and_conversions_within_the_window(moments, smtp):
    for n in range(40):
        member(f"m{n}", email=True)
    mailing = draft(variants=(("spring-a", 50), ("spring-b", 50)), holdout="30", days=7)
    mailings.schedule(mailing.pk, moments.now, actor="t")
    building.advance(moments.now)
    sent = deliver_queued(limit=100)
    groups = by_group(mailing)
    held, a, b = groups[-1], groups[0], groups[1]
    assert len(held) >= 2 and len(a) >= 2 and len(b) >= 2 and sent == len(a) + len(b)

    start = moments.now
    buy(held[0].member, start + timedelta(days=2), "1000.00")
    buy(held[1].member, start + timedelta(days=7, seconds=1), "400.00")  # after the window
    buy(a[0].member, start + timedelta(hours=1), "500.00")
    buy(a[0].member, start + timedelta(days=6), "250.50")
    buy(b[0].member, start + timedelta(days=1), "900.00", status=Order.Status.CANCELLED)
    buy(b[1].member, start - timedelta(minutes=1), "100.00")  # before the start
    MessageEvent.objects.create(message=a[0].message, kind="open", at=start)
    MessageEvent.objects.create(message=a[0].message, kind="open", at=start)  # opened twice: one message
    MessageEvent.objects.create(message=b[1].message, kind="click", url="https://shop.example.ru/catalog", at=start)
    moments.advance(days=10)

    found = results.results(Mailing.objects.get(pk=mailing.pk))
    assert (found.since, found.until) == (start, start + timedelta(days=7))
    first, second = found.variants
    assert (first.members, first.sent, first.opened, first.clicked, first.converted, first.revenue) == (
        len(a), len(a), 1, 0, 1, Decimal("750.50"))
    assert first.revenue_squares == 750.50 ** 2
    assert (second.members, second.sent, second.opened, second.clicked, second.converted, second.revenue) == (
        len(b), len(b), 1, 1, 0, Decimal("0.00"))
    assert (found.held_out.members, found.held_out.sent, found.held_out.converted, found.held_out.revenue) == (
        len(held), 0, 1, Decimal("1000.00"))
    assert found.programme_group.members == 0
    assert (found.exposed.members, found.exposed.converted, found.exposed.revenue) == (
        len(a) + len(b), 1, Decimal("750.50"))


def test_a_mailing_not_started_has_empty_groups_and_no_window():
    found = results.results(draft(variants=(("spring-a", 50), ("spring-b", 50))))
    assert (found.since, [g.members for g in found.variants], found.held_out.members) == (None, [0, 0], 0)


def test_progress_counts_written_and_done_messages(moments, smtp):
    for n in range(3):
        member(f"m{n}", email=True)
    member("no consent")
    mailing = draft(rate=1)
    mailings.schedule(mailing.pk, moments.now, actor="t")
    assert results.progress(Mailing.objects.get(pk=mailing.pk))["progress"] == 0
    building.advance(moments.now)
    deliver_queued()
    shown = results.progress(Mailing.objects.get(pk=mailing.pk))
    assert (shown["to_write"], shown["written"], shown["done"], shown["by_status"]["sent"],
            shown["by_status"]["skipped"], shown["progress"]) == (4, 4, 2, 1, 1, 10 + 45)
    moments.advance(minutes=2)
    deliver_queued()
    building.advance(moments.now)
    assert results.progress(Mailing.objects.get(pk=mailing.pk)) == {
        "status": "done", "progress": 100, "to_write": 4, "written": 4, "done": 4,
        "by_status": {"queued": 0, "sent": 3, "delivered": 0, "failed": 0, "skipped": 1}}
