"""Concurrent writers on PostgreSQL: row locks keep the ledger exact."""

import pytest

from kopilka.core.errors import IdempotencyKeyReused
from kopilka.ledger import services
from kopilka.ledger.errors import InsufficientPoints
from kopilka.ledger.models import Entry
from kopilka.ledger.reconcile import reconcile
from kopilka.ledger.selectors import balance
from tests.concurrency import run_at_once

from .conftest import make_member

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_fifty_concurrent_spends_of_thirty_from_a_thousand():
    member = make_member()
    services.accrue(member_id=member.pk, points=1_000, actor="test", idempotency_key="seed")

    results = run_at_once(
        50, lambda i: services.spend(member_id=member.pk, points=30, actor="pos", idempotency_key=f"spend-{i}")
    )

    succeeded = [r for r in results if isinstance(r, Entry)]
    refused = [r for r in results if isinstance(r, InsufficientPoints)]
    assert (len(succeeded), len(refused)) == (33, 17)
    assert balance(member.pk).total == 10
    assert sorted(e.balance_after for e in succeeded) == list(range(10, 1_000, 30))[:33]
    assert reconcile().clean

    replays = run_at_once(
        50, lambda i: services.spend(member_id=member.pk, points=30, actor="pos", idempotency_key=f"spend-{i}")
    )
    assert sorted(r.pk for r in replays if isinstance(r, Entry)) == sorted(e.pk for e in succeeded)
    assert all(isinstance(r, (Entry, InsufficientPoints)) for r in replays)
    assert Entry.objects.filter(kind="spend").count() == 33
    assert balance(member.pk).total == 10
    assert reconcile().clean


def test_concurrent_duplicates_of_one_accrual_book_it_once():
    member = make_member()

    results = run_at_once(
        20, lambda i: services.accrue(member_id=member.pk, points=25, actor="pos", idempotency_key="receipt-1")
    )

    assert [r for r in results if not isinstance(r, Entry)] == []
    assert {r.pk for r in results} == {Entry.objects.get(kind="accrual").pk}
    assert balance(member.pk).total == 25


def test_holds_and_expiry_running_together_stay_consistent():
    members = [make_member(last_name=f"M{i}") for i in range(10)]
    from datetime import timedelta

    from kopilka.core import clock

    past = clock.now() - timedelta(days=1)
    for m in members:
        services.accrue(member_id=m.pk, points=100, actor="t", idempotency_key=f"old-{m.pk}",
                        at=past - timedelta(days=2), expires_at=past)
        services.accrue(member_id=m.pk, points=100, actor="t", idempotency_key=f"new-{m.pk}")

    def work(i):
        if i == 0:
            return services.expire(as_of=clock.now(), batch_lots=2)
        m = members[i % len(members)]
        return services.hold(member_id=m.pk, points=10, actor="t", idempotency_key=f"hold-{i}")

    results = run_at_once(21, work)

    assert not [r for r in results if isinstance(r, Exception)]
    assert results[0].points == 1_000
    assert reconcile().clean


def test_concurrent_duplicates_of_one_spend_book_it_once_and_all_get_it():
    member = make_member()
    services.accrue(member_id=member.pk, points=100, actor="test", idempotency_key="seed-dup")

    results = run_at_once(
        20, lambda i: services.spend(member_id=member.pk, points=60, actor="pos", idempotency_key="spend-dup")
    )

    assert [r for r in results if not isinstance(r, Entry)] == []
    assert {r.pk for r in results} == {Entry.objects.get(kind="spend").pk}
    assert balance(member.pk).total == 40
    assert reconcile().clean


def test_concurrent_requests_reusing_a_key_for_other_members_are_refused():
    members = [make_member(last_name=f"K{i}") for i in range(10)]

    results = run_at_once(
        10, lambda i: services.accrue(member_id=members[i].pk, points=5, actor="pos", idempotency_key="shared-key")
    )

    booked = [r for r in results if isinstance(r, Entry)]
    assert len(booked) == 1
    assert all(isinstance(r, IdempotencyKeyReused) for r in results if not isinstance(r, Entry))
    assert Entry.objects.filter(idempotency_key="shared-key").count() == 1
    assert reconcile().clean


def test_expiry_with_two_connections_burns_every_due_lot_once():
    from datetime import timedelta

    from kopilka.core import clock

    members = [make_member(last_name=f"E{i}") for i in range(12)]
    past = clock.now() - timedelta(days=1)
    for i, m in enumerate(members):
        for n in range(3):
            services.accrue(member_id=m.pk, points=10 + i, actor="t", idempotency_key=f"due-{m.pk}-{n}",
                            at=past - timedelta(days=2), expires_at=past)
        services.accrue(member_id=m.pk, points=7, actor="t", idempotency_key=f"live-{m.pk}")

    result = services.expire(as_of=clock.now(), batch_lots=4, workers=2)
    again = services.expire(as_of=clock.now(), batch_lots=4, workers=2)

    assert (result.lots, result.points, result.accounts) == (36, sum(3 * (10 + i) for i in range(12)), 12)
    assert (again.lots, again.points) == (0, 0)
    assert Entry.objects.filter(kind="expiry").count() == 36
    assert all(balance(m.pk).total == 7 for m in members)
    assert reconcile().clean
