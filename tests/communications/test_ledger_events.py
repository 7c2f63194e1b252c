"""Points accrued, spent and burned become events after the fact, from the ledger's entries by a cursor: each entry
of those kinds once, none lost — also on PostgreSQL when a transaction that drew a lower id commits after one that
drew a higher id, or rolls back."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction

from kopilka.communications.ledger_events import entries_to_events
from kopilka.communications.models import EntryCursor
from kopilka.core import clock
from kopilka.core.models import OutboxEvent
from kopilka.ledger import services as ledger
from kopilka.ledger.models import Entry
from tests.ledger.conftest import make_member, new_key


def points_events() -> list[tuple[str, int, int]]:
    """(type, entry id, points) of every points event, by entry."""
    found = OutboxEvent.objects.filter(type__startswith="points.").values_list("type", "payload")
    return sorted(((type_, payload["entry_id"], payload["points"]) for type_, payload in found),
                  key=lambda row: row[1])


def accrue(member, points: int, **fields) -> Entry:
    return ledger.accrue(member_id=member.pk, points=points, actor="t", idempotency_key=new_key(), **fields)


@pytest.mark.django_db
def test_accruals_spends_and_expiries_become_one_event_each():
    anna = make_member()
    kept = accrue(anna, 300)
    burning = accrue(anna, 200, expires_at=clock.now() + timedelta(days=1))
    spent = ledger.spend(member_id=anna.pk, points=100, actor="t", idempotency_key=new_key())
    ledger.expire(as_of=clock.now() + timedelta(days=2))
    burned = Entry.objects.get(kind=Entry.Kind.EXPIRY)

    assert entries_to_events() == 4 and entries_to_events() == 0
    assert points_events() == [("points.accrued", kept.pk, 300), ("points.accrued", burning.pk, 200),
                               ("points.spent", spent.pk, 100), ("points.burned", burned.pk, burned.amount * -1)]
    event = OutboxEvent.objects.get(key=f"ledger.entry:{spent.pk}")
    assert event.subject == f"member:{anna.pk}" and event.payload == {
        "member_id": anna.pk, "entry_id": spent.pk, "points": 100, "balance_after": spent.balance_after,
        "lot_id": None, "source": {"kind": "manual", "ref": ""},
        "at": spent.effective_at.isoformat(timespec="milliseconds").replace("+00:00", "Z")}
    _until_settled()
    assert EntryCursor.objects.get().position == burned.pk and len(points_events()) == 4


@pytest.mark.django_db
def test_entries_of_other_kinds_move_the_cursor_without_events():
    anna = make_member()
    accrual = accrue(anna, 300)
    reversal = ledger.reverse_accrual(entry_id=accrual.pk, actor="t", idempotency_key=new_key())
    assert entries_to_events() == 1 and points_events() == [("points.accrued", accrual.pk, 300)]
    _until_settled()  # on PostgreSQL ids left by earlier tests' rollbacks lie below: settled by the passes after
    assert EntryCursor.objects.get().position == reversal.pk and len(points_events()) == 1


class HeldOpen:
    """An accrual in a transaction of its own (a thread) that stays open until `finish(commit)`."""

    def __init__(self, member_id: int):
        self.member_id, self.entry_id = member_id, None
        self.booked, self.decided = threading.Event(), threading.Event()
        self.commit = True
        self.thread = threading.Thread(target=self._run)
        self.thread.start()
        assert self.booked.wait(10)

    def _run(self) -> None:
        try:
            with transaction.atomic():
                self.entry_id = ledger.accrue(member_id=self.member_id, points=70, actor="t",
                                              idempotency_key=new_key()).pk
                self.booked.set()
                self.decided.wait(10)
                if not self.commit:
                    transaction.set_rollback(True)
        finally:
            connection.close()

    def finish(self, *, commit: bool) -> None:
        self.commit = commit
        self.decided.set()
        self.thread.join()


def _until_settled(seconds: float = 180) -> None:
    """Passes until the cursor reaches the newest entry. A gap settles once every transaction of the cluster that
    was running at the pass before has ended — other sessions' too (another test run on the same server), so this
    waits for them, up to `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        entries_to_events()
        if EntryCursor.objects.get().position == Entry.objects.order_by("-id").values_list("id", flat=True)[0]:
            return
        if time.monotonic() > deadline:
            return
        time.sleep(0.05)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("commits", [True, False])
def test_an_entry_that_commits_after_a_higher_id_is_not_lost(commits):
    anna, boris = make_member(), make_member(last_name="Петров")
    late = HeldOpen(anna.pk)  # draws the lower id and stays open
    early = accrue(boris, 30)  # draws the higher id and commits first
    assert early.pk > late.entry_id

    entries_to_events()  # sees the higher id only
    assert points_events() == [("points.accrued", early.pk, 30)]
    assert EntryCursor.objects.get().position < late.entry_id
    entries_to_events()
    entries_to_events()  # however often it runs, the cursor waits for the open transaction
    assert EntryCursor.objects.get().position < late.entry_id

    late.finish(commit=commits)
    _until_settled()

    assert EntryCursor.objects.get().position == early.pk
    expected = [("points.accrued", late.entry_id, 70)] if commits else []
    assert points_events() == sorted([*expected, ("points.accrued", early.pk, 30)], key=lambda row: row[1])
    assert OutboxEvent.objects.filter(type="points.accrued").count() == len(expected) + 1
