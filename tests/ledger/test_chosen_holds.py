"""A hold on the lots a caller chose (a cart's plan): exactly those lots, or nothing."""

from datetime import timedelta

import pytest
from django.db import transaction

from kopilka.core import clock
from kopilka.ledger import services
from kopilka.ledger.errors import InsufficientPoints
from kopilka.ledger.models import Account, Hold, Lot

from .conftest import make_member, new_key

pytestmark = pytest.mark.django_db


def lot_of(member, points, days_ago=5, **kw):
    at = clock.now() - timedelta(days=days_ago)
    return services.accrue(member_id=member.pk, points=points, actor="t", idempotency_key=new_key(), at=at, **kw).lot


def test_the_chosen_lots_are_held_and_captured_even_against_the_redemption_order():
    member = make_member()
    oldest, newer = lot_of(member, 100, days_ago=9), lot_of(member, 100, days_ago=2)

    held = services.hold(member_id=member.pk, points=70, actor="t", idempotency_key=new_key(),
                         lots={newer.pk: 50, oldest.pk: 20})
    services.capture(hold_id=held.pk, actor="t", idempotency_key=new_key())

    assert dict(Lot.objects.values_list("pk", "remaining")) == {oldest.pk: 80, newer.pk: 50}
    assert sorted(held.lines.values_list("lot_id", "amount")) == sorted([(newer.pk, 50), (oldest.pk, 20)])


@pytest.mark.parametrize("problem", ["too_many", "pending", "not_mine"])
def test_a_plan_a_lot_cannot_meet_is_refused_whole(problem):
    member, other = make_member(), make_member(last_name="Петров")
    good = lot_of(member, 100)
    bad = {
        "too_many": lot_of(member, 10),
        "pending": lot_of(member, 100, pending_until=clock.now() + timedelta(days=3)),
        "not_mine": lot_of(other, 100),
    }[problem]

    with pytest.raises(InsufficientPoints) as refused:
        services.hold(member_id=member.pk, points=70, actor="t", idempotency_key=new_key(),
                      lots={good.pk: 40, bad.pk: 30})

    assert refused.value.details["lots"] == [bad.pk]
    assert not Hold.objects.exists()
    assert set(Lot.objects.values_list("held", flat=True)) == {0}


def test_a_fresh_hold_holds_the_chosen_lots_and_a_later_hold_under_its_key_is_its_replay():
    member = make_member()
    oldest, newer = lot_of(member, 100, days_ago=9), lot_of(member, 100, days_ago=2)
    lots, source = {newer.pk: 50, oldest.pk: 20}, services.Source("order", "7")

    with transaction.atomic():
        held = services.hold_fresh(member_id=member.pk, lots=lots, actor="t", idempotency_key="order:7:hold",
                                   source=source)

    hold = Hold.objects.get()
    assert (hold.pk, hold.amount, hold.status, hold.source_ref) == (held, 70, Hold.Status.ACTIVE, "7")
    assert dict(Lot.objects.values_list("pk", "held")) == {oldest.pk: 20, newer.pk: 50}
    assert Account.objects.get(member_id=member.pk).held == 70
    replay = services.hold(member_id=member.pk, points=70, actor="t", idempotency_key="order:7:hold", lots=lots,
                           source=source)
    assert replay.pk == held and Hold.objects.count() == 1


@pytest.mark.parametrize("problem", ["too_many", "pending", "not_mine"])
def test_a_fresh_hold_a_lot_cannot_meet_is_refused_whole(problem):
    member, other = make_member(), make_member(last_name="Петров")
    good = lot_of(member, 100)
    bad = {
        "too_many": lot_of(member, 10),
        "pending": lot_of(member, 100, pending_until=clock.now() + timedelta(days=3)),
        "not_mine": lot_of(other, 100),
    }[problem]

    with pytest.raises(InsufficientPoints) as refused, transaction.atomic():
        services.hold_fresh(member_id=member.pk, lots={good.pk: 40, bad.pk: 30}, actor="t",
                            idempotency_key=new_key(), source=services.Source("order", "8"))

    assert refused.value.details["lots"] == [bad.pk]
    assert not Hold.objects.exists()
    assert set(Lot.objects.values_list("held", flat=True)) == {0}
    assert set(Account.objects.values_list("held", flat=True)) == {0}
