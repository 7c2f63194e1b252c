"""Ledger services as short stories: given a member's lots, when an operation runs, then exact entries and balances."""

from datetime import timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import override_settings

from kopilka.core import clock
from kopilka.core.errors import IdempotencyKeyReused, NotFound, ValidationFailed
from kopilka.customers.models import Member
from kopilka.ledger import services
from kopilka.ledger.errors import (
    HoldNotActive,
    InsufficientPoints,
    InvalidDates,
    InvalidPoints,
    MemberCannotEarnOrSpend,
    NothingToReverse,
    PointsAlreadySpent,
    UnknownCategory,
    UnknownReasonCode,
)
from kopilka.ledger.models import Account, Entry, Hold, Lot
from kopilka.ledger.reconcile import reconcile
from kopilka.ledger.selectors import balance

from .conftest import T0, make_member, new_key


def accrue(member, points, **kw):
    kw.setdefault("at", T0)
    return services.accrue(member_id=member.pk, points=points, actor="test", idempotency_key=new_key(), **kw)


def spend(member, points, **kw):
    return services.spend(member_id=member.pk, points=points, actor="test", idempotency_key=new_key(), **kw)


def ledger_state():
    return (
        list(Entry.objects.order_by("id").values_list("id", "amount")),
        list(Lot.objects.order_by("id").values_list("id", "remaining", "held")),
        list(Account.objects.order_by("id").values_list("id", "balance", "held")),
        list(Hold.objects.order_by("id").values_list("id", "status")),
    )


def assert_reconciles():
    report = reconcile()
    assert report.discrepancies == []


# --- accrual ------------------------------------------------------------------------------------------------------


def test_accrual_creates_a_lot_that_burns_at_the_end_of_its_last_day(member):
    entry = accrue(member, 120, lifetime_days=30, source=services.Source("campaign", "7:v2"))

    lot = entry.lot
    assert (entry.kind, entry.amount, entry.balance_after, entry.actor) == ("accrual", 120, 120, "test")
    assert (lot.amount, lot.remaining, lot.category.code, lot.source_kind, lot.source_ref) == (
        120, 120, "base", "campaign", "7:v2",
    )
    # T0 is 1 March 12:00 Moscow; 30 days later is 31 March, which ends at 1 April 00:00 Moscow = 31 March 21:00 UTC.
    assert lot.expires_at == clock.end_of_day(clock.local_date(T0) + timedelta(days=30))
    assert lot.expires_at.isoformat() == "2026-03-31T21:00:00+00:00"
    assert balance(member.pk, at=T0).available == 120
    assert_reconciles()


def test_pending_points_are_counted_but_not_spendable_until_activation(member):
    accrue(member, 50, pending_until=T0 + timedelta(days=14))

    before = balance(member.pk, at=T0 + timedelta(days=13))
    after = balance(member.pk, at=T0 + timedelta(days=14))
    assert (before.total, before.available, before.pending) == (50, 0, 50)
    assert (after.available, after.pending) == (50, 0)
    with pytest.raises(InsufficientPoints):
        spend(member, 1, at=T0 + timedelta(days=13))


@pytest.mark.parametrize(
    "points, extra, error",
    [
        (0, {}, InvalidPoints),
        (-5, {}, InvalidPoints),
        (True, {}, InvalidPoints),
        (10**12, {}, InvalidPoints),
        (10, {"category": "gold"}, UnknownCategory),
        (10, {"category": "debt"}, UnknownCategory),
        (10, {"expires_at": T0 - timedelta(seconds=1)}, InvalidDates),
        (10, {"expires_at": T0 + timedelta(days=1), "lifetime_days": 3}, InvalidDates),
        (10, {"lifetime_days": 0}, InvalidDates),
        (10, {"pending_until": T0 + timedelta(days=400), "lifetime_days": 30}, InvalidDates),
        (10, {"reason_code": "no-such-reason"}, UnknownReasonCode),
    ],
)
def test_bad_accruals_are_refused_and_change_nothing(member, points, extra, error):
    before = ledger_state()
    with pytest.raises(error):
        accrue(member, points, **extra)
    assert ledger_state() == before


def test_unknown_member_is_refused(db):
    with pytest.raises(NotFound) as refused:
        services.accrue(member_id=999_999, points=5, actor="test", idempotency_key=new_key())
    assert refused.value.code == "member_not_found"
    assert Account.objects.count() == 0


# --- spending -----------------------------------------------------------------------------------------------------


def test_spending_takes_promo_first_then_base_each_oldest_first(member):
    base_old = accrue(member, 100, at=T0).lot
    promo = accrue(member, 40, category="promo", at=T0 + timedelta(days=1)).lot
    base_new = accrue(member, 100, at=T0 + timedelta(days=2)).lot

    entry = spend(member, 160, at=T0 + timedelta(days=3), source=services.Source("order", "A-1"))

    assert sorted(entry.allocations.values_list("lot_id", "amount")) == sorted(
        [(promo.pk, -40), (base_old.pk, -100), (base_new.pk, -20)]
    )
    assert (entry.amount, entry.balance_after) == (-160, 80)
    assert balance(member.pk, at=T0 + timedelta(days=3)).available == 80
    assert_reconciles()


@override_settings(KOPILKA={**__import__("django.conf").conf.settings.KOPILKA, "REDEMPTION_ORDER": "soonest_expiring"})
def test_soonest_expiring_order_as_programme_setting(member):
    long_promo = accrue(member, 50, category="promo", lifetime_days=300).lot
    short_base = accrue(member, 50, lifetime_days=10).lot

    entry = spend(member, 60, at=T0 + timedelta(days=1))

    assert sorted(entry.allocations.values_list("lot_id", "amount")) == sorted(
        [(short_base.pk, -50), (long_promo.pk, -10)]
    )
    assert balance(member.pk, at=T0).redemption_order == "soonest_expiring"


def test_spending_more_than_available_is_refused_and_changes_nothing(member):
    accrue(member, 100)
    before = ledger_state()
    with pytest.raises(InsufficientPoints) as refused:
        spend(member, 101, at=T0)
    assert refused.value.details == {"requested": 101, "available": 100}
    assert ledger_state() == before


def test_blocked_member_neither_earns_nor_spends_but_can_be_corrected_down(member):
    accrue(member, 100)
    Member.objects.filter(pk=member.pk).update(status=Member.Status.BLOCKED)
    before = ledger_state()

    for attempt in (lambda: accrue(member, 10), lambda: spend(member, 10, at=T0)):
        with pytest.raises(MemberCannotEarnOrSpend):
            attempt()
    with pytest.raises(MemberCannotEarnOrSpend):
        services.hold(member_id=member.pk, points=5, actor="t", idempotency_key=new_key(), at=T0)
    assert ledger_state() == before

    corrected = services.adjust(
        member_id=member.pk, points=-30, reason_code="fraud", actor="support:1", idempotency_key=new_key(), at=T0
    )
    assert (corrected.kind, corrected.amount, corrected.balance_after, corrected.reason_code) == (
        "adjustment", -30, 70, "fraud",
    )


# --- idempotency --------------------------------------------------------------------------------------------------


def test_replaying_a_write_returns_the_first_entry_and_changes_nothing(member):
    first = services.accrue(member_id=member.pk, points=70, actor="pos", idempotency_key="pos-1:r-77", at=T0)
    before = ledger_state()
    again = services.accrue(member_id=member.pk, points=70, actor="pos", idempotency_key="pos-1:r-77", at=T0)
    assert again.pk == first.pk
    assert ledger_state() == before

    spent = services.spend(member_id=member.pk, points=20, actor="pos", idempotency_key="pos-1:r-78", at=T0)
    again = services.spend(member_id=member.pk, points=20, actor="pos", idempotency_key="pos-1:r-78", at=T0)
    assert again.pk == spent.pk
    assert balance(member.pk, at=T0).total == 50


def test_reusing_a_key_for_another_request_is_refused(member):
    other = make_member(last_name="Петров")
    services.accrue(member_id=member.pk, points=70, actor="pos", idempotency_key="k-same", at=T0)
    before = ledger_state()
    with pytest.raises(IdempotencyKeyReused):
        services.accrue(member_id=member.pk, points=71, actor="pos", idempotency_key="k-same", at=T0)
    with pytest.raises(IdempotencyKeyReused):
        services.accrue(member_id=other.pk, points=70, actor="pos", idempotency_key="k-same", at=T0)
    assert ledger_state() == before


# --- holds --------------------------------------------------------------------------------------------------------


def test_hold_reserves_points_then_capture_spends_part_and_releases_the_rest(member):
    lot = accrue(member, 100, at=clock.now()).lot
    reserved = services.hold(member_id=member.pk, points=60, actor="shop", idempotency_key=new_key(),
                             source=services.Source("order", "W-5"))
    assert (balance(member.pk).available, balance(member.pk).held) == (40, 60)
    with pytest.raises(InsufficientPoints):
        spend(member, 41)

    entry = services.capture(hold_id=reserved.pk, points=45, actor="shop", idempotency_key=new_key())

    reserved.refresh_from_db()
    lot.refresh_from_db()
    assert reserved.status == "captured"
    assert (entry.kind, entry.amount, entry.hold_id, entry.source_ref) == ("spend", -45, reserved.pk, "W-5")
    assert (lot.remaining, lot.held) == (55, 0)
    assert_reconciles()
    with pytest.raises(HoldNotActive):
        services.capture(hold_id=reserved.pk, actor="shop", idempotency_key=new_key())
    with pytest.raises(HoldNotActive):
        services.release(hold_id=reserved.pk, actor="shop")


def test_released_and_timed_out_holds_give_the_points_back(member):
    services.accrue(member_id=member.pk, points=100, actor="t", idempotency_key=new_key())
    first = services.hold(member_id=member.pk, points=30, actor="t", idempotency_key=new_key())
    second = services.hold(member_id=member.pk, points=50, actor="t", idempotency_key=new_key(), ttl_seconds=60)

    services.release(hold_id=first.pk, actor="t")
    services.release(hold_id=first.pk, actor="t")  # a second release is a no-op
    assert services.release_expired_holds(now=clock.now() + timedelta(seconds=59)) == 0
    assert services.release_expired_holds(now=clock.now() + timedelta(seconds=61)) == 0  # not yet due in real time

    Hold.objects.filter(pk=second.pk).update(expires_at=clock.now() - timedelta(seconds=1))
    assert services.release_expired_holds() == 1
    second.refresh_from_db()
    assert (second.status, second.closed_by) == ("expired", "system:holds")
    assert (balance(member.pk).available, balance(member.pk).held) == (100, 0)
    with pytest.raises(HoldNotActive):
        services.capture(hold_id=second.pk, actor="t", idempotency_key=new_key())
    assert_reconciles()


# --- expiry -------------------------------------------------------------------------------------------------------


def test_expiry_burns_due_lots_once_and_keeps_held_points_until_the_hold_ends(member):
    due = accrue(member, 100, lifetime_days=10).lot
    later = accrue(member, 50, lifetime_days=100).lot
    reserved = services.hold(member_id=member.pk, points=30, actor="t", idempotency_key=new_key(), at=T0)
    as_of = due.expires_at

    first = services.expire(as_of=as_of)
    again = services.expire(as_of=as_of)

    assert (first.lots, first.points, first.accounts) == (1, 70, 1)
    assert (again.lots, again.points) == (0, 0)
    burn = Entry.objects.get(kind="expiry")
    assert (burn.lot_id, burn.amount, burn.balance_after, burn.effective_at, burn.actor) == (
        due.pk, -70, 80, due.expires_at, "system:expiry",
    )
    services.release(hold_id=reserved.pk, actor="t")
    assert services.expire(as_of=as_of).points == 30
    later.refresh_from_db()
    assert later.remaining == 50
    assert balance(member.pk, at=as_of).total == 50
    assert_reconciles()


def test_expiry_of_many_lots_of_many_members_books_running_balances(db):
    members = [make_member(last_name=f"M{i}") for i in range(5)]
    for i, m in enumerate(members):
        for days in (5, 6, 300):
            accrue(m, 10 * (i + 1), lifetime_days=days)

    result = services.expire(as_of=T0 + timedelta(days=30), batch_lots=3)

    assert (result.lots, result.accounts) == (10, 5)
    assert result.points == sum(2 * 10 * (i + 1) for i in range(5))
    for i, m in enumerate(members):
        burns = list(Entry.objects.filter(account__member=m, kind="expiry").order_by("id")
                     .values_list("amount", "balance_after"))
        assert sorted(burns, key=lambda b: -b[1]) == [(-10 * (i + 1), 20 * (i + 1)), (-10 * (i + 1), 10 * (i + 1))]
    assert_reconciles()


# --- reversals and returns ----------------------------------------------------------------------------------------


def test_reversal_under_negative_policy_books_a_debt_that_the_next_accrual_settles(member):
    earned = accrue(member, 100)
    spend(member, 80, at=T0)

    reversal = services.reverse_accrual(entry_id=earned.pk, actor="t", idempotency_key=new_key(), policy="negative")

    assert (reversal.amount, reversal.balance_after, reversal.details["debt"]) == (-100, -80, 80)
    assert balance(member.pk, at=T0).debt == 80
    accrue(member, 50)
    accrue(member, 50)
    b = balance(member.pk, at=T0)
    assert (b.total, b.debt, b.available) == (20, 0, 20)
    assert list(Entry.objects.filter(kind="settlement").order_by("id").values_list("amount", "details")) == [
        (0, {"settled": 50}), (0, {"settled": 30}),
    ]
    assert_reconciles()


def test_reversal_under_take_available_forgives_what_was_spent(member):
    earned = accrue(member, 100)
    spend(member, 80, at=T0)

    reversal = services.reverse_accrual(entry_id=earned.pk, actor="t", idempotency_key=new_key())

    assert (reversal.amount, reversal.details["forgiven"], reversal.balance_after) == (-20, 80, 0)
    with pytest.raises(NothingToReverse):
        services.reverse_accrual(entry_id=earned.pk, actor="t", idempotency_key=new_key())
    assert_reconciles()


def test_reversal_under_block_policy_is_refused_when_points_were_spent(member):
    earned = accrue(member, 100)
    spend(member, 1, at=T0)
    before = ledger_state()
    with pytest.raises(PointsAlreadySpent):
        services.reverse_accrual(entry_id=earned.pk, actor="t", idempotency_key=new_key(), policy="block")
    assert ledger_state() == before
    partial = services.reverse_accrual(entry_id=earned.pk, points=99, actor="t", idempotency_key=new_key(),
                                       policy="block")
    assert partial.amount == -99


def test_a_batch_of_reversals_books_what_each_reversal_alone_would_and_replays_as_one(member):
    first, second, third = accrue(member, 100), accrue(member, 60), accrue(member, 40)
    spend(member, 150, at=T0)  # draws the first lot whole and 50 of the second
    takes = [services.TakeBack(first.pk, "r-1"), services.TakeBack(second.pk, "r-2", 30),
             services.TakeBack(third.pk, "r-3")]

    reversals = services.reverse_accruals(takes, actor="t", policy="negative")

    assert [(r.amount, r.details["debt"], r.reverses_id) for r in reversals] == [
        (-100, 100, first.pk), (-30, 20, second.pk), (-40, 0, third.pk),
    ]
    assert balance(member.pk, at=T0).debt == 120
    before = ledger_state()
    assert [r.pk for r in services.reverse_accruals(takes, actor="t", policy="negative")] == [r.pk for r in reversals]
    assert ledger_state() == before
    assert_reconciles()


def test_a_batch_of_reversals_is_all_or_nothing(member):
    first, second = accrue(member, 100), accrue(member, 60)
    spend(member, 110, at=T0)
    before = ledger_state()

    with pytest.raises(PointsAlreadySpent):
        services.reverse_accruals([services.TakeBack(first.pk, "r-1", 0 + 100), services.TakeBack(second.pk, "r-2")],
                                  actor="t", policy="block")
    with pytest.raises(ValidationFailed):
        services.reverse_accruals([services.TakeBack(first.pk, "r-1"), services.TakeBack(first.pk, "r-2")],
                                  actor="t")

    assert ledger_state() == before


def test_a_return_gives_points_back_into_the_original_lots_with_their_expiry(member):
    promo = accrue(member, 40, category="promo", lifetime_days=20).lot
    base = accrue(member, 100, lifetime_days=200).lot
    spent = spend(member, 120, at=T0)

    first = services.restore_spend(entry_id=spent.pk, points=70, actor="t", idempotency_key=new_key())
    rest = services.restore_spend(entry_id=spent.pk, actor="t", idempotency_key=new_key())

    assert sorted(first.allocations.values_list("lot_id", "amount")) == sorted([(base.pk, 70)])
    assert sorted(rest.allocations.values_list("lot_id", "amount")) == sorted([(base.pk, 10), (promo.pk, 40)])
    promo.refresh_from_db()
    assert (promo.remaining, promo.expires_at) == (40, promo.expires_at)
    with pytest.raises(NothingToReverse):
        services.restore_spend(entry_id=spent.pk, actor="t", idempotency_key=new_key())
    # Points returned into a lot past its expiry burn at the next run.
    assert services.expire(as_of=promo.expires_at).points == 40
    assert_reconciles()


def test_returning_more_than_was_spent_is_refused(member):
    accrue(member, 100)
    spent = spend(member, 30, at=T0)
    with pytest.raises(InvalidPoints):
        services.restore_spend(entry_id=spent.pk, points=31, actor="t", idempotency_key=new_key())


# --- adjustments --------------------------------------------------------------------------------------------------


def test_manual_adjustment_needs_a_known_reason_code(member):
    before = ledger_state()
    for reason in ("", "because"):
        with pytest.raises(UnknownReasonCode):
            services.adjust(member_id=member.pk, points=50, reason_code=reason, actor="s", idempotency_key=new_key())
    assert ledger_state() == before

    entry = services.adjust(
        member_id=member.pk, points=50, reason_code="compensation-defect", comment="Крем пришёл вскрытым",
        actor="user:anna", idempotency_key=new_key(), lifetime_days=90,
    )
    assert (entry.kind, entry.lot.category.code, entry.comment, entry.actor) == (
        "adjustment", "compensation", "Крем пришёл вскрытым", "user:anna",
    )


# --- integrity ----------------------------------------------------------------------------------------------------


def test_entries_cannot_be_edited(member, on_postgres):
    entry = accrue(member, 10)
    with pytest.raises(DatabaseError), transaction.atomic():
        Entry.objects.filter(pk=entry.pk).update(amount=1_000)
    if on_postgres:
        with pytest.raises(DatabaseError), transaction.atomic():
            Entry.objects.filter(pk=entry.pk).delete()
    assert Entry.objects.get(pk=entry.pk).amount == 10


def test_reconcile_finds_a_tampered_snapshot_and_lot(member, on_postgres):
    lot = accrue(member, 10).lot
    assert reconcile(member_id=member.pk).clean
    with connection.cursor() as cursor:
        if on_postgres:  # the database refuses such changes (test_database_guards.py): tamper as a damaged copy
            cursor.execute("SET LOCAL session_replication_role = replica")
        Account.objects.filter(member=member).update(balance=11)
        Lot.objects.filter(pk=lot.pk).update(remaining=9)
        if on_postgres:
            cursor.execute("SET LOCAL session_replication_role = DEFAULT")
    checks = {d.check for d in reconcile(member_id=member.pk).discrepancies}
    assert checks == {"balance_vs_entries", "balance_vs_lots", "lot_vs_movements"}


def test_burning_a_lot_takes_its_free_points_once_and_keeps_what_holds_reserve(member):
    from kopilka.ledger.reconcile import reconcile

    accrued = services.accrue(member_id=member.pk, points=100, actor="t", idempotency_key=new_key())
    services.hold(member_id=member.pk, points=30, actor="t", idempotency_key=new_key())
    burned = services.burn_lot(lot_id=accrued.lot_id, reason_code="fraud", actor="user:anna", idempotency_key="b-1",
                               comment="Злоупотребление")
    again = services.burn_lot(lot_id=accrued.lot_id, reason_code="fraud", actor="user:anna", idempotency_key="b-1",
                              comment="Злоупотребление")
    assert burned.pk == again.pk
    assert (burned.kind, burned.amount, burned.lot_id, burned.reason_code) == ("expiry", -70, accrued.lot_id, "fraud")
    assert Lot.objects.get(pk=accrued.lot_id).remaining == 30
    with pytest.raises(ValidationFailed):
        services.burn_lot(lot_id=accrued.lot_id, reason_code="fraud", actor="t", idempotency_key=new_key())
    with pytest.raises(ValidationFailed):
        services.burn_lot(lot_id=accrued.lot_id, reason_code="", actor="t", idempotency_key=new_key())
    assert reconcile().clean
