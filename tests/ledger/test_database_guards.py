"""PostgreSQL keeps the snapshots honest: an account's balance and a lot's remainder change only to what the ledger's
entries and allocations say (migration ledger 0010); holds move `held` alone. Every service path passes the check
(`test_statements.py` runs them all on both PostgreSQL paths); a raw change is refused and changes nothing."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction

from kopilka.ledger import services
from kopilka.ledger.models import Account, Entry, Lot
from kopilka.ledger.reconcile import reconcile

from .conftest import T0, make_member, new_key

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def _accrued(member, points=100, **kw) -> Entry:
    kw.setdefault("at", T0)
    return services.accrue(member_id=member.pk, points=points, actor="t", idempotency_key=new_key(), **kw)


def _state(account_id: int) -> tuple:
    return (Account.objects.filter(pk=account_id).values_list("balance", "held").get(),
            list(Lot.objects.filter(account_id=account_id).order_by("id").values_list("remaining", "held")),
            Entry.objects.filter(account_id=account_id).count())


def _execute(sql: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _refused(sql: str, params=(), match: str = "does not follow its") -> IntegrityError:
    with pytest.raises(IntegrityError, match=match) as refused, transaction.atomic():
        _execute(sql, params)
    return refused.value


def _insert_entry(account_id: int, amount: int, balance_after: int, lot_id: int | None = None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO ledger_entry (account_id, kind, amount, balance_after, lot_id, source_kind, source_ref,
                                      reason_code, comment, actor, fingerprint, effective_at, created_at)
            VALUES (%s, 'adjustment', %s, %s, %s, 'manual', '', 'correction', '', 'user:dba', '',
                    CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)
            RETURNING id
            """,
            [account_id, amount, balance_after, lot_id],
        )
        return cursor.fetchone()[0]


def test_a_balance_raised_without_an_entry_is_refused_and_nothing_changes():
    entry = _accrued(make_member())
    before = _state(entry.account_id)

    refused = _refused("UPDATE ledger_account SET balance = balance + 100 WHERE id = %s", [entry.account_id],
                       match="balance 200 does not follow its entries")

    assert refused.__cause__.sqlstate == "23514"
    assert _state(entry.account_id) == before
    assert reconcile().clean


def test_a_lot_remainder_changed_without_an_entry_is_refused_and_nothing_changes():
    entry = _accrued(make_member())
    before = _state(entry.account_id)

    _refused("UPDATE ledger_lot SET remaining = remaining - 40 WHERE id = %s", [entry.lot_id],
             match=f"lot {entry.lot_id} remaining 60 does not follow its entries and allocations")
    _refused("UPDATE ledger_lot SET remaining = held WHERE id = %s", [entry.lot_id])  # expiry without its entry

    assert _state(entry.account_id) == before


def test_one_row_without_its_entry_refuses_the_whole_statement():
    first = _accrued(make_member(last_name="Петров"))
    second = _accrued(make_member(last_name="Сидорова"))
    _insert_entry(first.account_id, -30, 70, first.lot_id)  # a correction booked on the first lot only

    _refused("UPDATE ledger_lot SET remaining = remaining - 30 WHERE id IN (%s, %s)", [first.lot_id, second.lot_id])
    _refused("UPDATE ledger_account SET balance = balance - 30 WHERE id IN (%s, %s)",
             [first.account_id, second.account_id])

    assert Lot.objects.get(pk=second.lot_id).remaining == 100
    assert Account.objects.get(pk=second.account_id).balance == 100


def test_snapshots_follow_an_entry_booked_by_hand_to_the_point():
    entry = _accrued(make_member())
    _insert_entry(entry.account_id, -30, 70, entry.lot_id)

    _refused("UPDATE ledger_lot SET remaining = 69 WHERE id = %s", [entry.lot_id])
    _refused("UPDATE ledger_account SET balance = 71 WHERE id = %s", [entry.account_id])
    _execute("UPDATE ledger_lot SET remaining = 70 WHERE id = %s", [entry.lot_id])
    _execute("UPDATE ledger_account SET balance = 70 WHERE id = %s", [entry.account_id])

    assert reconcile().clean
    # once followed, the entry licenses no second change
    _refused("UPDATE ledger_lot SET remaining = 40 WHERE id = %s", [entry.lot_id])
    _refused("UPDATE ledger_account SET balance = 40 WHERE id = %s", [entry.account_id])


def test_a_balance_may_not_leave_zero_before_the_first_entry():
    account = Account.objects.create(member=make_member())

    _refused("UPDATE ledger_account SET balance = 5 WHERE id = %s", [account.pk], match="the newest says 0")
    _execute("UPDATE ledger_account SET updated_at = now(), held = 0 WHERE id = %s", [account.pk])  # no balance change


def test_holds_move_held_points_without_entries_and_never_below_zero():
    member = make_member()
    entry = _accrued(member)
    now = T0 + timedelta(days=1)
    reserved = services.hold(member_id=member.pk, points=30, actor="t", idempotency_key=new_key(), at=now)
    assert _state(entry.account_id) == ((100, 30), [(100, 30)], 1)
    services.release(hold_id=reserved.pk, actor="t", at=now)
    assert _state(entry.account_id) == ((100, 0), [(100, 0)], 1)

    _refused("UPDATE ledger_account SET held = held - 1 WHERE id = %s", [entry.account_id],
             match="held points are never negative")
    _refused("UPDATE ledger_lot SET held = held - 1 WHERE id = %s", [entry.lot_id], match="lot_held_not_negative")
    _refused("UPDATE ledger_lot SET held = remaining + 1 WHERE id = %s", [entry.lot_id], match="lot_held_covered")
    assert reconcile().clean


def test_expiry_leaves_each_balance_at_its_newest_entry():
    member = make_member()
    for days in (3, 5, 7, 300):
        _accrued(member, 10 + days, lifetime_days=days)

    burned = services.expire(as_of=T0 + timedelta(days=30), batch_lots=2)

    account = Account.objects.get(member=member)
    newest = Entry.objects.filter(account=account).latest("id")
    assert (burned.lots, burned.points) == (3, 13 + 15 + 17)
    assert (newest.kind, newest.balance_after, account.balance) == ("expiry", 310, 310)
    assert reconcile().clean


def test_the_lot_check_sums_entries_from_entry_lot_alone():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'entry_lot'")
        (definition,) = cursor.fetchone()
    assert "(lot_id) INCLUDE (amount) WHERE (lot_id IS NOT NULL)" in definition
