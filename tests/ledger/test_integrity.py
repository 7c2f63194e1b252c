"""The database itself keeps the ledger whole: entries are append-only, an entry names an existing account and a
lot of that account, and nothing an entry refers to can be deleted."""

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import ProtectedError

from kopilka.ledger import services
from kopilka.ledger.models import Account, Entry, Lot

from .conftest import make_member, new_key

on_postgresql = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="the guard is PostgreSQL's")


def _accrued(member, points=100) -> Entry:
    return services.accrue(member_id=member.pk, points=points, actor="t", idempotency_key=new_key())


def _insert_entry(account_id: int, lot_id: int | None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO ledger_entry (account_id, kind, amount, balance_after, lot_id, source_kind, source_ref,
                                      reason_code, comment, actor, fingerprint, effective_at, created_at)
            VALUES (%s, 'adjustment', 1, 1, %s, '', '', '', '', 't', '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)
            """,
            [account_id, lot_id],
        )


@pytest.mark.django_db
def test_an_entry_cannot_name_a_lot_of_another_account():
    theirs = _accrued(make_member(last_name="Петров"))
    mine = _accrued(make_member(last_name="Сидорова"))
    with pytest.raises(IntegrityError), transaction.atomic():
        _insert_entry(mine.account_id, theirs.lot_id)
    _insert_entry(mine.account_id, mine.lot_id)  # its own lot is fine
    assert Entry.objects.filter(account_id=mine.account_id).count() == 2


@pytest.mark.django_db
def test_an_entry_cannot_name_a_missing_account_or_lot():
    entry = _accrued(make_member())
    with pytest.raises(IntegrityError), transaction.atomic():
        _insert_entry(entry.account_id + 1000, None)
    with pytest.raises(IntegrityError), transaction.atomic():
        _insert_entry(entry.account_id, entry.lot_id + 1000)
    assert Entry.objects.count() == 1


@pytest.mark.django_db
def test_entries_are_append_only():
    entry = _accrued(make_member())
    with pytest.raises(DatabaseError), transaction.atomic():
        Entry.objects.filter(pk=entry.pk).update(amount=1_000)
    assert Entry.objects.get(pk=entry.pk).amount == 100


@pytest.mark.django_db
def test_django_refuses_to_delete_what_entries_refer_to():
    entry = _accrued(make_member())
    with pytest.raises(ProtectedError):
        Lot.objects.get(pk=entry.lot_id).delete()
    with pytest.raises(ProtectedError):
        Account.objects.get(pk=entry.account_id).delete()


@on_postgresql
@pytest.mark.django_db
def test_the_database_refuses_to_delete_or_rekey_what_entries_refer_to():
    entry = _accrued(make_member())
    other = Account.objects.create(member=make_member(last_name="Петров"))
    statements = [
        ("DELETE FROM ledger_entry WHERE id = %s", entry.pk),
        ("DELETE FROM ledger_lot WHERE id = %s", entry.lot_id),
        ("UPDATE ledger_lot SET account_id = " + str(other.pk) + " WHERE id = %s", entry.lot_id),
        ("DELETE FROM ledger_account WHERE id = %s", entry.account_id),
        ("UPDATE ledger_account SET id = id + 1000 WHERE id = %s", entry.account_id),
    ]
    for sql, key in statements:
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [key])
    with transaction.atomic(), connection.cursor() as cursor:  # under the maintenance switch, no entries: allowed
        cursor.execute("SET LOCAL kopilka.maintenance = on")
        cursor.execute("DELETE FROM ledger_account WHERE id = %s", [other.pk])
    assert Lot.objects.get(pk=entry.lot_id).account_id == entry.account_id


@on_postgresql
@pytest.mark.django_db
@pytest.mark.parametrize("sql", ["TRUNCATE ledger_entry CASCADE", "TRUNCATE ledger_allocation",
                                 "TRUNCATE ledger_lot CASCADE", "TRUNCATE ledger_account CASCADE",
                                 "DELETE FROM ledger_lot", "DELETE FROM ledger_account"])
def test_the_ledger_is_never_emptied_without_the_maintenance_switch(sql):
    entry = _accrued(make_member())
    with pytest.raises(DatabaseError, match="never emptied"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the deferred checks of the entry made above run now
        cursor.execute("SET LOCAL kopilka.maintenance = off")
        cursor.execute(sql)
    assert Entry.objects.filter(pk=entry.pk).exists() and Lot.objects.filter(pk=entry.lot_id).exists()


def _insert_lot(account_id: int, amount: int, remaining: int, held: int = 0) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO ledger_lot (account_id, category_id, source_kind, source_ref, amount, remaining, held,
                                    accrued_at, activates_at, expires_at, is_debt)
            SELECT %s, id, 'manual', '', %s, %s, %s, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, NULL, false
              FROM ledger_lotcategory WHERE code = 'base'
            """,
            [account_id, amount, remaining, held],
        )


@pytest.mark.django_db
@pytest.mark.parametrize(("amount", "remaining", "held"), [(100, 0, 0), (100, 40, 0), (100, 100, 10)])
def test_a_lot_is_born_whole_or_not_at_all(amount, remaining, held):
    """A lot's remainder is tied to entries from its birth: it is born holding all it was accrued and nothing held
    (its accrual entry follows in its transaction), so no raw insert makes points that no entry booked."""
    account = _accrued(make_member()).account
    with pytest.raises(DatabaseError, match="born whole"), transaction.atomic():
        _insert_lot(account.pk, amount, remaining, held)
    assert Lot.objects.filter(account=account).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(("balance", "held"), [(500, 0), (0, 20)])
def test_an_account_is_born_empty_or_not_at_all(balance, held):
    member = make_member()
    with pytest.raises(DatabaseError, match="born empty"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("INSERT INTO ledger_account (member_id, balance, held, updated_at) "
                       "VALUES (%s, %s, %s, CURRENT_TIMESTAMP)", [member.pk, balance, held])
    assert not Account.objects.filter(member=member).exists()
    assert _accrued(member, points=70).account.balance == 70  # born empty, then booked


@on_postgresql
@pytest.mark.django_db
def test_the_maintenance_switch_answers_only_to_a_superuser_or_a_member_of_kopilka_maintenance():
    entry = _accrued(make_member())
    with connection.cursor() as cursor:
        cursor.execute("DO $$ BEGIN CREATE ROLE kopilka_test_clerk NOLOGIN; "
                       "EXCEPTION WHEN duplicate_object THEN NULL; END $$")
        cursor.execute("GRANT SELECT, TRUNCATE, DELETE ON ledger_allocation, ledger_entry, ledger_lot, ledger_account "
                       "TO kopilka_test_clerk")
    try:
        with pytest.raises(DatabaseError, match="never emptied"), transaction.atomic(), \
                connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET LOCAL ROLE kopilka_test_clerk")
            cursor.execute("SET LOCAL kopilka.maintenance = on")
            cursor.execute("TRUNCATE ledger_allocation")
        with transaction.atomic(), connection.cursor() as cursor:  # the same switch, as a superuser
            cursor.execute("SET LOCAL kopilka.maintenance = on")
            cursor.execute("TRUNCATE ledger_allocation")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP OWNED BY kopilka_test_clerk")
            cursor.execute("DROP ROLE kopilka_test_clerk")
    assert Entry.objects.filter(pk=entry.pk).exists()
