"""The single-statement PostgreSQL writes book exactly what the ORM path books, and the helpers they rely on."""

import random
from datetime import timedelta

import pytest
from django.db import transaction

from kopilka.core import clock
from kopilka.ledger import _locking, booking, expiry, reference, services, statements
from kopilka.ledger.errors import UnknownCategory
from kopilka.ledger.models import Account, Allocation, Entry, Lot, LotCategory
from kopilka.ledger.reconcile import reconcile

from .conftest import T0, make_member, new_key


def story(member) -> None:
    """Accruals of two categories (alone and in batches), spends across lots, a debt and its settlement, a return,
    a hold captured in part and one whole, a manual correction down, and expiry of what is due."""

    def accrue(points, **kw):
        kw.setdefault("at", T0)
        return services.accrue(member_id=member.pk, points=points, actor="t", idempotency_key=new_key(), **kw)

    def spend(points, **kw):
        return services.spend(member_id=member.pk, points=points, actor="t", idempotency_key=new_key(), **kw)

    first = accrue(100, lifetime_days=10)
    accrue(40, category="promo", lifetime_days=300)
    accrue(70, lifetime_days=200)
    spent = spend(150, at=T0 + timedelta(days=1))
    services.reverse_accrual(entry_id=first.pk, actor="t", idempotency_key=new_key(), policy="negative")
    services.accrue_many(member_id=member.pk, actor="t", at=T0 + timedelta(days=2), accruals=[
        services.Accrual(points=12, idempotency_key=new_key(), lifetime_days=40),
        services.Accrual(points=8, idempotency_key=new_key(), category="promo", lifetime_days=50),
    ])  # a debt to settle: one by one
    accrue(30, at=T0 + timedelta(days=2))
    services.accrue_many(member_id=member.pk, actor="t", at=T0 + timedelta(days=2), accruals=[
        services.Accrual(points=9, idempotency_key=new_key(), lifetime_days=40),
        services.Accrual(points=11, idempotency_key=new_key(), category="promo", expires_at=T0 + timedelta(days=9)),
    ])  # by one call
    services.restore_spend(entry_id=spent.pk, points=25, actor="t", idempotency_key=new_key())
    accrue(60, at=T0 + timedelta(days=2), lifetime_days=5)
    services.accrue(member_id=member.pk, points=50, actor="t", idempotency_key=new_key())  # spendable now
    reserved = services.hold(member_id=member.pk, points=20, actor="t", idempotency_key=new_key())
    services.capture(hold_id=reserved.pk, points=15, actor="t", idempotency_key=new_key())
    whole = services.hold(member_id=member.pk, points=12, actor="t", idempotency_key=new_key())
    services.capture_held(hold_id=whole.pk, actor="t", idempotency_key=new_key())
    services.adjust(member_id=member.pk, points=-5, reason_code="correction", actor="t", idempotency_key=new_key(),
                    at=T0 + timedelta(days=3))
    spend(10, at=T0 + timedelta(days=3), redemption_order="soonest_expiring")
    accrue(20, at=T0 + timedelta(days=3), lifetime_days=1, category="compensation")
    services.expire(as_of=T0 + timedelta(days=20), batch_lots=2)


def ledger_shape(member) -> dict:
    """The member's ledger with ids replaced by their order of creation, so two runs can be compared."""
    account = Account.objects.get(member=member)
    lots = list(Lot.objects.filter(account=account).order_by("id"))
    lot_no = {lot.pk: n for n, lot in enumerate(lots)}
    entries = list(Entry.objects.filter(account=account).order_by("id"))
    entry_no = {entry.pk: n for n, entry in enumerate(entries)}
    return {
        "account": (account.balance, account.held),
        "lots": [(lot.category_id, lot.amount, lot.remaining, lot.held, lot.expires_at, lot.is_debt) for lot in lots],
        "entries": [
            (e.kind, e.amount, e.balance_after, lot_no.get(e.lot_id), entry_no.get(e.reverses_id), e.details,
             e.effective_at, e.reason_code, e.hold_id is not None)
            for e in entries
        ],
        "allocations": [
            (entry_no[a.entry_id], lot_no[a.lot_id], a.amount)
            for a in Allocation.objects.filter(entry__account=account).order_by("id")
        ],
    }


@pytest.mark.postgres
def test_single_statement_writes_book_what_the_orm_path_books(db, monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: T0 + timedelta(days=4))  # both runs book at the same moments
    shapes = []
    for single_statements in (True, False):
        monkeypatch.setattr(statements, "available", lambda flag=single_statements: flag)
        with transaction.atomic():
            member = make_member()
            story(member)
            shapes.append(ledger_shape(member))
            assert reconcile(member_id=member.pk).clean
            transaction.set_rollback(True)
    assert shapes[0] == shapes[1]
    kinds = [kind for kind, *_ in shapes[0]["entries"]]
    assert {"settlement", "restore", "expiry", "adjustment"} <= set(kinds)


def test_the_story_reconciles_on_this_database(db):
    member = make_member()
    story(member)
    assert reconcile().clean


@pytest.mark.postgres
@pytest.mark.parametrize("policy", booking.REDEMPTION_ORDERS)
def test_the_spendable_prefix_gives_the_plan_of_all_lots(db, policy):
    rng = random.Random(7)
    member = make_member()
    for _ in range(25):
        services.accrue(
            member_id=member.pk, points=rng.randint(1, 50), actor="t", idempotency_key=new_key(),
            category=rng.choice(["base", "promo", "compensation"]), at=T0 + timedelta(hours=rng.randint(0, 200)),
            lifetime_days=rng.randint(5, 60),
        )
    account = Account.objects.get(member=member)
    everything = _locking.lot_states(account)
    for _ in range(40):
        at = T0 + timedelta(hours=rng.randint(0, 1_000))
        points = rng.randint(1, 600)
        [rows] = statements.run_together([statements.spendable_prefix(member.pk, points, at, policy)])
        prefix = [booking.LotState(*row) for row in rows]
        assert {lot.id for lot in prefix} <= {lot.id for lot in everything}
        try:
            expected = booking.plan_spend(everything, points, at, policy)
        except booking.InsufficientPoints as refused:
            with pytest.raises(booking.InsufficientPoints) as also_refused:
                booking.plan_spend(prefix, points, at, policy)
            assert also_refused.value.details == refused.details
        else:
            assert booking.plan_spend(prefix, points, at, policy) == expected


@pytest.mark.postgres
@pytest.mark.parametrize("policy", booking.REDEMPTION_ORDERS)
@pytest.mark.parametrize("shared_rank", [False, True], ids=["a category per rank", "two categories of one rank"])
def test_the_spend_function_draws_the_lots_the_booking_rules_plan(db, policy, shared_rank):
    categories = ["base", "promo", "compensation"]
    if shared_rank:
        LotCategory.objects.create(code="gift", name="Подарочные", redemption_rank=30)  # shares base's rank
        categories.append("gift")
    rng = random.Random(11)
    member = make_member()
    for _ in range(30):
        accrued_at = T0 + timedelta(hours=rng.randint(0, 200))
        services.accrue(
            member_id=member.pk, points=rng.randint(1, 50), actor="t", idempotency_key=new_key(),
            category=rng.choice(categories), at=accrued_at,
            lifetime_days=rng.randint(5, 60),
            pending_until=accrued_at + timedelta(hours=rng.randint(1, 100)) if rng.random() < 0.2 else None,
        )
    everything = _locking.lot_states(Account.objects.get(member=member))
    for _ in range(40):
        at = T0 + timedelta(hours=rng.randint(0, 1_000))
        points = rng.randint(1, 700)
        with transaction.atomic():
            try:
                expected = booking.plan_spend(everything, points, at, policy)
            except booking.InsufficientPoints as refused:
                with pytest.raises(booking.InsufficientPoints) as also_refused:
                    services.spend(member_id=member.pk, points=points, actor="t", idempotency_key=new_key(), at=at,
                                   redemption_order=policy)
                assert also_refused.value.details == refused.details
            else:
                entry = services.spend(member_id=member.pk, points=points, actor="t", idempotency_key=new_key(),
                                       at=at, redemption_order=policy)
                drawn = [(a.lot_id, -a.amount) for a in Allocation.objects.filter(entry=entry).order_by("id")]
                assert drawn == expected
                assert reconcile(member_id=member.pk).clean
            transaction.set_rollback(True)


def test_statements_run_together_return_each_ones_rows_in_order(db):
    assert statements.run_together([("SELECT 1", {}), ("SELECT %(n)s UNION ALL SELECT 3", {"n": 2})]) == [
        [(1,)], [(2,), (3,)],
    ]


@pytest.mark.postgres
def test_both_expiry_paths_book_the_same_entries(db, monkeypatch):
    shapes = []
    for one_statement in (True, False):
        monkeypatch.setattr(statements, "available", lambda flag=one_statement: flag)
        with transaction.atomic():
            members = [make_member(last_name=f"M{i}") for i in range(3)]
            for i, member in enumerate(members):
                for days in (5, 6, 7, 300):
                    services.accrue(member_id=member.pk, points=10 * (i + 1) + days, actor="t",
                                    idempotency_key=new_key(), at=T0, lifetime_days=days)
            services.hold(member_id=members[0].pk, points=12, actor="t", idempotency_key=new_key(), at=T0,
                          redemption_order="soonest_expiring")
            result = services.expire(as_of=T0 + timedelta(days=30), batch_lots=4)
            shapes.append(((result.lots, result.points, result.accounts), [ledger_shape(m) for m in members]))
            assert reconcile().clean
            transaction.set_rollback(True)
    assert shapes[0] == shapes[1]
    assert shapes[0][0] == (9, sum(3 * 10 * (i + 1) + 18 for i in range(3)) - 12, 3)


def test_expiry_batches_are_runs_of_consecutive_accounts():
    accounts = [(1, 3), (2, 1), (5, 4), (7, 10), (9, 1)]
    assert expiry._batches(accounts, 4) == [[1, 2], [5], [7], [9]]
    assert expiry._batches(accounts, 100) == [[1, 2, 5, 7, 9]]
    assert expiry._batches([], 5) == []


def test_a_category_added_after_the_cache_was_filled_is_usable_at_once(db):
    member = make_member()
    assert reference.category("base") is not None
    LotCategory.objects.bulk_create([LotCategory(code="birthday", name="Birthday", redemption_rank=5)])  # no signal

    entry = services.accrue(member_id=member.pk, points=5, actor="t", idempotency_key=new_key(), category="birthday")

    assert entry.lot.category.code == "birthday"
    with pytest.raises(UnknownCategory) as refused:
        services.accrue(member_id=member.pk, points=5, actor="t", idempotency_key=new_key(), category="gold")
    assert refused.value.details["known"] == ["birthday", "promo", "compensation", "base"]


def test_a_renamed_category_is_seen_after_a_save(db):
    assert reference.category("promo") is not None
    promo = LotCategory.objects.get(code="promo")
    promo.code = "promo-2026"
    promo.save()
    assert reference.category("promo") is None
    assert reference.category("promo-2026").id == promo.pk
