"""A purchase's writes in few statements: accruals booked by one call (`accrue_many`), a hold captured whole in
the caller's transaction (`capture_held`), and a booking under a taken key that writes nothing. Each books what the
one-by-one writes book, on both databases."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction

from kopilka.core import clock
from kopilka.core.errors import IdempotencyKeyReused
from kopilka.ledger import services, statements
from kopilka.ledger.errors import HoldNotActive, MemberCannotEarnOrSpend
from kopilka.ledger.models import Account, Entry, Hold, Lot
from kopilka.ledger.reconcile import reconcile
from kopilka.ledger.selectors import balance

from .conftest import T0, make_member, new_key
from .test_services import ledger_state


def accruals(*points: int, key: str = "order-1:payment") -> list[services.Accrual]:
    return [
        services.Accrual(points=n, idempotency_key=f"{key}:c{number}", category="promo" if number % 2 else "base",
                         source=services.Source("campaign", f"c{number}:v1"), lifetime_days=30 + number)
        for number, n in enumerate(points)
    ]


def shape(entries: list[Entry]) -> list[tuple]:
    return [(e.kind, e.amount, e.balance_after, e.lot.amount, e.lot.category_id, e.lot.expires_at, e.source_ref,
             e.idempotency_key, e.fingerprint) for e in entries]


def test_a_batch_of_accruals_books_what_each_accrual_alone_would(member):
    other = make_member(last_name="Петров")
    services.accrue(member_id=member.pk, points=5, actor="t", idempotency_key=new_key(), at=T0)
    services.accrue(member_id=other.pk, points=5, actor="t", idempotency_key=new_key(), at=T0)

    batch = services.accrue_many(member_id=member.pk, accruals=accruals(10, 20, 30), actor="pos", at=T0)
    alone = [services.accrue(member_id=other.pk, points=a.points, actor="pos", at=T0, category=a.category,
                             source=a.source, lifetime_days=a.lifetime_days, idempotency_key=f"x{a.idempotency_key}")
             for a in accruals(10, 20, 30)]

    stored = [Entry.objects.select_related("lot").get(pk=entry.pk) for entry in batch]
    assert [e.balance_after for e in stored] == [15, 35, 65]
    assert shape(stored) == shape(batch)
    assert [s[:6] for s in shape(stored)] == [s[:6] for s in shape(alone)]
    assert balance(member.pk, at=T0).total == 65
    assert reconcile().discrepancies == []


def test_accruals_keep_the_details_their_caller_gives_whichever_path_books_them(member):
    def kept(*details):
        return [services.Accrual(points=10, idempotency_key=new_key(), details=d) for d in details]

    first = services.accrue_many(member_id=member.pk, accruals=kept({"desired": 12}), actor="pos", at=T0)  # no account
    batch = services.accrue_many(member_id=member.pk, accruals=kept({"desired": 15}, None), actor="pos", at=T0)
    alone = services.accrue_many(member_id=member.pk, accruals=kept({"desired": 30}), actor="pos", at=T0)

    booked = first + batch + alone
    assert [e.details for e in booked] == [{"desired": 12}, {"desired": 15}, None, {"desired": 30}]
    assert [Entry.objects.get(pk=e.pk).details for e in booked] == [e.details for e in booked]
    assert reconcile().discrepancies == []


def test_a_batch_replays_as_one_and_its_keys_replay_alone(member):
    first = services.accrue_many(member_id=member.pk, accruals=accruals(10, 20), actor="pos", at=T0)
    before = ledger_state()
    again = services.accrue_many(member_id=member.pk, accruals=accruals(10, 20), actor="pos", at=T0)
    one = accruals(10, 20)[1]
    alone = services.accrue(member_id=member.pk, points=20, actor="pos", at=T0, category=one.category,
                            source=one.source, lifetime_days=one.lifetime_days, idempotency_key=one.idempotency_key)
    assert [e.pk for e in again] == [e.pk for e in first]
    assert alone.pk == first[1].pk
    assert ledger_state() == before


def test_a_batch_books_the_accruals_before_one_booked_alone_and_that_one_replays(member):
    one, two, three = accruals(10, 20, 30)
    alone = services.accrue(member_id=member.pk, points=20, actor="pos", at=T0, category=two.category,
                            source=two.source, lifetime_days=two.lifetime_days, idempotency_key=two.idempotency_key)

    batch = services.accrue_many(member_id=member.pk, accruals=[one, two, three], actor="pos", at=T0)

    assert batch[1].pk == alone.pk
    assert [e.amount for e in batch] == [10, 20, 30]
    assert [e.balance_after for e in batch] == [30, 20, 60]  # the one booked alone came first
    assert Entry.objects.filter(account__member=member).count() == 3
    assert balance(member.pk, at=T0).total == 60
    assert reconcile().discrepancies == []


def test_a_batch_with_a_key_used_for_another_request_is_refused_and_changes_nothing(member):
    services.accrue(member_id=member.pk, points=7, actor="pos", idempotency_key="order-1:payment:c1", at=T0)
    before = ledger_state()
    with pytest.raises(IdempotencyKeyReused):
        with transaction.atomic():
            services.accrue_many(member_id=member.pk, accruals=accruals(10, 20), actor="pos", at=T0)
    assert ledger_state() == before


def test_a_members_first_accruals_and_debts_are_booked_one_by_one(member):
    batch = services.accrue_many(member_id=member.pk, accruals=accruals(10, 20), actor="pos", at=T0)
    assert [e.balance_after for e in batch] == [10, 30]  # the first write opened the account
    services.spend(member_id=member.pk, points=30, actor="pos", idempotency_key=new_key(), at=T0)
    services.reverse_accrual(entry_id=batch[1].pk, actor="pos", idempotency_key=new_key(), policy="negative")
    assert balance(member.pk, at=T0).debt == 20

    settled = services.accrue_many(member_id=member.pk, accruals=accruals(15, 25, key="order-2"), actor="pos", at=T0)

    assert balance(member.pk, at=T0).debt == 0
    assert balance(member.pk, at=T0).total == 20
    assert [Lot.objects.get(pk=e.lot_id).remaining for e in settled] == [0, 20]
    assert reconcile().discrepancies == []


def test_a_blocked_member_earns_nothing_from_a_batch(member):
    services.accrue(member_id=member.pk, points=5, actor="t", idempotency_key=new_key(), at=T0)
    member.status = "blocked"
    member.save()
    before = ledger_state()
    with pytest.raises(MemberCannotEarnOrSpend):
        with transaction.atomic():
            services.accrue_many(member_id=member.pk, accruals=accruals(10, 20), actor="pos", at=T0)
    assert ledger_state() == before


def held(member, points: int, *lots: int) -> Hold:
    """A hold of `points` on the lots, split evenly between two."""
    split = {lots[0]: points} if len(lots) == 1 else {lots[0]: points - points // 2, lots[1]: points // 2}
    return services.hold(member_id=member.pk, points=points, actor="shop", idempotency_key=new_key(),
                         source=services.Source("order", "W-9"), lots=split)


def test_capturing_a_whole_hold_books_what_capture_books(member):
    first = services.accrue(member_id=member.pk, points=50, actor="t", idempotency_key=new_key()).lot
    second = services.accrue(member_id=member.pk, points=50, actor="t", idempotency_key=new_key()).lot
    one, other = held(member, 40, first.pk, second.pk), held(member, 40, first.pk, second.pk)

    fast = services.capture_held(hold_id=one.pk, actor="shop", idempotency_key="cap-1")
    slow = services.capture(hold_id=other.pk, actor="shop", idempotency_key="cap-2")

    stored = Entry.objects.get(pk=fast.pk)
    assert (stored.kind, stored.amount, stored.hold_id, stored.details, stored.source_ref) == (
        slow.kind, slow.amount, one.pk, slow.details, slow.source_ref)
    assert (stored.balance_after, fast.balance_after) == (60, 60)
    assert list(stored.allocations.order_by("id").values_list("lot_id", "amount")) == [
        (first.pk, -20), (second.pk, -20)]
    assert set(Hold.objects.values_list("status", flat=True)) == {"captured"}
    assert list(Lot.objects.order_by("id").values_list("remaining", "held")) == [(10, 0), (10, 0)]
    assert Account.objects.get(member=member).held == 0
    assert reconcile().discrepancies == []


def test_capturing_a_hold_again_replays_and_an_ended_hold_is_refused(member):
    lot = services.accrue(member_id=member.pk, points=50, actor="t", idempotency_key=new_key()).lot
    reserved = held(member, 30, lot.pk)
    first = services.capture_held(hold_id=reserved.pk, actor="shop", idempotency_key="cap")
    before = ledger_state()
    assert services.capture_held(hold_id=reserved.pk, actor="shop", idempotency_key="cap").pk == first.pk
    with pytest.raises(HoldNotActive):
        services.capture_held(hold_id=reserved.pk, actor="shop", idempotency_key="cap-again")
    with pytest.raises(IdempotencyKeyReused):
        other = held(member, 10, lot.pk)
        services.capture_held(hold_id=other.pk, actor="shop", idempotency_key="cap")
    assert ledger_state()[0] == before[0]


def test_a_timed_out_hold_is_not_captured(member):
    lot = services.accrue(member_id=member.pk, points=50, actor="t", idempotency_key=new_key()).lot
    reserved = held(member, 30, lot.pk)
    Hold.objects.filter(pk=reserved.pk).update(expires_at=clock.now() - timedelta(seconds=1))
    before = ledger_state()
    with pytest.raises(HoldNotActive):
        with transaction.atomic():
            services.capture_held(hold_id=reserved.pk, actor="shop", idempotency_key=new_key())
    assert ledger_state() == before


@pytest.mark.postgres
def test_a_booking_under_a_taken_key_writes_nothing_and_leaves_the_transaction_usable(member):
    entry = services.accrue(member_id=member.pk, points=50, actor="t", idempotency_key="taken")
    account = Account.objects.get(member=member)
    before = ledger_state()
    row = statements.EntryRow(account=account.pk, kind="spend", amount=-5, balance=45, source_kind="", source_ref="",
                              reason_code="", comment="", actor="t", at=T0, now=T0, key="taken")
    with transaction.atomic():
        with pytest.raises(IntegrityError):
            statements.book(row, [(entry.lot_id, -5)])
        assert ledger_state() == before
        with connection.cursor() as cursor:  # not aborted
            cursor.execute("SELECT 1")
