"""The bulk data set (`kopilka seed --bulk`): the asked counts, receipts that add up, a plausible shape, a
ledger that reconciles with nothing left to burn, the schema intact afterwards, and refusals."""

import io
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.models import Count, F, Sum
from django.utils import translation

from kopilka.core import clock, programme
from kopilka.customers.models import ExternalId, Member
from kopilka.customers.search_text import member_search_text
from kopilka.customers.validators import inn_checksum_is_valid
from kopilka.ledger import booking
from kopilka.ledger.expiry import expire
from kopilka.ledger.models import Account, Allocation, Entry, Lot
from kopilka.ledger.reconcile import reconcile
from kopilka.orders.models import COUNTED_STATUSES, Order, OrderLine, OrderPoints
from kopilka.seed import bulk
from kopilka.seed.bulk import BulkSize, load_bulk
from kopilka.seed.seasons import calendar, day_weight
from kopilka.tiers.models import MemberTier, TierChange

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
SIZE = BulkSize(members=2000, receipts=20000, months=24, seed=3)

_SCHEMA = """
SELECT tablename, indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%(tables)s)
UNION ALL
SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
WHERE conrelid::regclass::text = ANY(%(tables)s)
UNION ALL
SELECT tgrelid::regclass::text, tgname, tgenabled::text FROM pg_trigger
WHERE NOT tgisinternal AND tgrelid::regclass::text = ANY(%(tables)s)
ORDER BY 1, 2, 3
"""


def _schema() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(_SCHEMA, {"tables": bulk.TABLES})
        return cursor.fetchall()


@pytest.fixture(scope="module")
def loaded(django_db_setup, django_db_blocker):
    """One bulk load for the module's tests, rolled back at the end (tests run in savepoints inside it)."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")
    with django_db_blocker.unblock(), transaction.atomic():
        schema_before = _schema()
        progress = io.StringIO()
        result = load_bulk(SIZE, stream=progress, now=NOW)
        yield result, progress.getvalue(), schema_before
        transaction.set_rollback(True)


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_asked_numbers_of_members_and_receipts_with_one_in_eight_of_non_members(loaded):
    result, progress, _schema_before = loaded

    assert result.members == Member.objects.count() == 2000
    assert result.receipts == Order.objects.count() == 20000
    assert result.non_member_receipts == Order.objects.filter(member__isnull=True).count() == 2400
    assert result.lines == OrderLine.objects.count()
    assert Account.objects.count() == 2000
    assert ExternalId.objects.filter(system="customer").count() == 2000
    assert {n for n, in Order.objects.annotate(n=Count("lines")).values_list("n")} == {1, 2, 3, 4}
    assert "Bulk seed: receipts in" in progress and "Bulk seed: indexes and constraints in" in progress


@pytest.mark.postgres
@pytest.mark.django_db
def test_every_total_is_the_sum_of_its_lines_and_the_discount_is_what_the_points_spent_are_worth(loaded):
    sums = Order.objects.annotate(
        amount=Sum("lines__amount"), line_discount=Sum("lines__discount"), line_points=Sum("lines__points_spent"),
        kept=Sum(F("lines__quantity") - F("lines__returned_quantity")),
    )

    assert not sums.exclude(total=F("amount")).exists()
    assert not sums.exclude(items=F("kept")).exists()  # as the order flow keeps them
    assert not sums.exclude(discount=F("line_discount")).exists()
    assert not sums.exclude(points_spent=F("line_points")).exists()
    assert not Order.objects.exclude(discount=F("points_spent")).exists()  # a point is worth 1 ₽ by default
    spending = Order.objects.filter(points_spent__gt=0)
    assert spending.count() > 500
    assert not spending.filter(total__lt=F("discount") * Decimal("100") / Decimal("30")).exists()
    assert not spending.exclude(status__in=COUNTED_STATUSES).exists()
    assert not spending.filter(member__isnull=True).exists()


@pytest.mark.postgres
@pytest.mark.django_db
def test_receipts_are_skewed_over_members_and_shaped_by_the_week(loaded):
    counts = Order.objects.filter(member__isnull=False).values("member").annotate(n=Count("id"))
    per_member = sorted(counts.values_list("n", flat=True), reverse=True)
    buyers = len(per_member)
    moments = Order.objects.values_list("purchased_at", flat=True)
    weekdays = Counter(moment.astimezone(clock.programme_tz()).isoweekday() for moment in moments)
    statuses = Counter(Order.objects.values_list("status", flat=True))

    assert 0.5 * 2000 < buyers < 0.95 * 2000  # some members never buy, or lapsed before the data begins
    assert sum(per_member[: buyers // 10]) > 0.3 * sum(per_member)  # a tenth of the buyers make a third of it
    assert per_member[-1] <= 2
    assert min(weekdays[d] for d in range(1, 6)) > 1.5 * max(weekdays[6], weekdays[7])
    assert statuses["cancelled"] > 0 and statuses["returned"] > 0
    assert sum(statuses[s] for s in COUNTED_STATUSES) > 0.9 * 20000
    assert not Order.objects.filter(purchased_at__gt=NOW).exists()
    assert not Order.objects.filter(member__isnull=False, purchased_at__lt=F("member__registered_at")).exists()
    assert not OrderLine.objects.filter(order__status="returned").exclude(returned_quantity=F("quantity")).exists()


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_ledger_reconciles_and_nothing_more_is_due_to_burn(loaded):
    result, _, _ = loaded

    assert reconcile().clean
    assert expire(as_of=NOW).lots == 0
    kinds = Counter(Entry.objects.values_list("kind", flat=True))
    assert set(kinds) == {"accrual", "spend", "expiry"}
    assert kinds["accrual"] == Lot.objects.count() == result.lots
    assert kinds["spend"] == result.spending_receipts == Order.objects.filter(points_spent__gt=0).count()
    assert -Entry.objects.filter(kind="expiry").aggregate(s=Sum("amount"))["s"] == result.burned_points > 0
    assert Account.objects.filter(balance__gt=0).exists()
    assert not Entry.objects.filter(balance_after__lt=0).exists()
    spent = Entry.objects.filter(kind="spend")
    assert not spent.filter(lot__isnull=False).exists()
    assert Allocation.objects.filter(entry__in=spent).aggregate(s=Sum("amount"))["s"] == spent.aggregate(
        s=Sum("amount"))["s"]


@pytest.mark.postgres
@pytest.mark.django_db
def test_each_spend_draws_its_lots_in_the_programme_redemption_order_each_whole_but_the_last(loaded):
    key = booking.redemption_key(programme.value("REDEMPTION_ORDER"))
    lots = {
        lot.pk: (booking.LotState(lot.pk, lot.category.redemption_rank, lot.accrued_at, lot.activates_at,
                                  lot.expires_at, lot.amount, 0), lot.amount)
        for lot in Lot.objects.select_related("category")
    }
    draws: dict[int, list[tuple[int, int]]] = {}
    for entry_id, lot_id, amount in Allocation.objects.filter(entry__kind="spend").values_list(
        "entry_id", "lot_id", "amount"
    ):
        draws.setdefault(entry_id, []).append((lot_id, -amount))
    several = partial_last = 0
    for drawn in draws.values():
        in_order = sorted(drawn, key=lambda draw: key(lots[draw[0]][0]))
        assert all(points == lots[lot_id][1] for lot_id, points in in_order[:-1])
        several += len(drawn) > 1
        partial_last += in_order[-1][1] < lots[in_order[-1][0]][1]
    assert len(draws) == Entry.objects.filter(kind="spend").count()
    assert several > 100 and partial_last > 100


@pytest.mark.postgres
@pytest.mark.django_db
def test_each_counted_receipt_of_a_member_earns_three_percent_once_after_its_days_pending(loaded):
    earned = OrderPoints.objects.filter(kind="earn").select_related("order", "entry__lot")[:300]

    for row in earned:
        assert row.points == int(row.order.total * 3 // 100)
        assert row.entry.amount == row.points == row.entry.lot.amount
        assert row.entry.lot.activates_at == row.order.purchased_at + timedelta(days=14)
        assert sum(row.by_line.values()) == row.points
    assert OrderPoints.objects.filter(kind="earn").count() == Lot.objects.count()
    assert not OrderPoints.objects.filter(kind="earn").exclude(order__status__in=COUNTED_STATUSES).exists()
    assert OrderPoints.objects.filter(kind="spend").count() == Entry.objects.filter(kind="spend").count()


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_last_entry_of_every_account_carries_its_balance(loaded):
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT COUNT(*) FROM ledger_account a
            JOIN LATERAL (SELECT balance_after FROM ledger_entry e WHERE e.account_id = a.id
                          ORDER BY e.effective_at DESC, e.id DESC LIMIT 1) last ON true
            WHERE last.balance_after <> a.balance
            """
        )
        assert cursor.fetchone()[0] == 0


@pytest.mark.postgres
@pytest.mark.django_db
def test_members_are_plausible_and_found_by_their_names(loaded):
    kinds = Counter(Member.objects.values_list("kind", flat=True))
    clinics = Member.objects.filter(kind="legal_entity")
    people = Member.objects.filter(kind="individual")

    assert 0.08 * 2000 < kinds["legal_entity"] < 0.18 * 2000
    assert all(inn_checksum_is_valid(inn) for inn in clinics.values_list("inn", flat=True))
    assert clinics.values("inn").distinct().count() == clinics.count()
    assert people.filter(gender="female").count() > 2 * people.filter(gender="male").count()
    assert people.filter(birthday__isnull=False).count() > 0.8 * people.count()
    assert Member.objects.filter(status="blocked").count() > 0
    for member in Member.objects.order_by("id")[:200]:
        assert member.search_text == member_search_text(member)
    assert Member.objects.values("region").distinct().count() >= 10
    assert Member.objects.values("registration_source").distinct().count() == 5


@pytest.mark.postgres
@pytest.mark.django_db
def test_members_with_purchases_have_a_tier_and_the_change_that_gave_it(loaded):
    buyers = Member.objects.filter(orders__status__in=COUNTED_STATUSES).distinct().count()
    tiers = Counter(MemberTier.objects.values_list("tier__code", flat=True))

    assert MemberTier.objects.count() == buyers == TierChange.objects.count()
    assert tiers["silver"] > tiers["gold"] > 0


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_indexes_constraints_and_triggers_set_aside_are_all_back(loaded):
    _, _, schema_before = loaded

    assert _schema() == schema_before
    assert ("ledger_lot", "lot_follows_entries", "O") in schema_before


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_loaded_lot_that_does_not_follow_its_entries_is_refused(loaded):
    """The load writes the lots' and accounts' remainders with the ledger's row-by-row checks off (they would probe
    indexes set aside), and checks the same over the whole load at once."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("ALTER TABLE ledger_lot DISABLE TRIGGER lot_follows_entries")
        cursor.execute("UPDATE ledger_lot SET remaining = remaining - 1 WHERE id = (SELECT MAX(id) FROM ledger_lot)")
        with pytest.raises(RuntimeError, match="bulk seed: lot"):
            bulk._hold_snapshots_to_entries(cursor)
        transaction.set_rollback(True)


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_second_run_refuses_and_changes_nothing(loaded):
    with translation.override("en"), pytest.raises(CommandError, match="already has members"):
        call_command("seed", "--bulk", "--members", "10", "--receipts", "10")

    assert Member.objects.count() == 2000
    assert Order.objects.count() == 20000


@pytest.mark.django_db
def test_sqlite_is_refused_with_a_message_that_says_what_to_do(on_postgres):
    if on_postgres:
        pytest.skip("the refusal of SQLite")
    with translation.override("en"), pytest.raises(CommandError, match="PostgreSQL"):
        call_command("seed", "--bulk", "--members", "10", "--receipts", "10")

    assert not Member.objects.exists()


@pytest.mark.django_db
def test_receipts_without_bulk_are_refused():
    with translation.override("en"), pytest.raises(CommandError, match="--bulk"):
        call_command("seed", "--members", "10", "--receipts", "10")


def test_working_days_weigh_more_than_weekends_and_january_holidays_least():
    monday, saturday, sunday = date(2026, 3, 16), date(2026, 3, 21), date(2026, 3, 22)

    assert day_weight(monday) > day_weight(saturday) > day_weight(sunday)
    assert day_weight(date(2026, 1, 5)) < day_weight(date(2026, 1, 12)) / 2
    assert day_weight(date(2026, 3, 16)) > day_weight(date(2026, 8, 17))


def test_each_day_gets_its_share_of_the_lookup_slots():
    first, last = date(2025, 1, 1), date(2026, 12, 31)
    table = calendar(first, last, slots=100_000)
    counts = Counter(table.slots)
    total = sum(day_weight(first + timedelta(days=i)) for i in range(table.days))

    assert table.before[0] == 0 and table.before[-1] == 1 and len(table.before) == table.days + 1
    for i in range(table.days):
        assert abs(counts[i] - 100_000 * day_weight(first + timedelta(days=i)) / total) <= 1
