"""Booking under the account lock: entries, their allocations, lot remainders and the balance snapshot,
written together so that snapshot = sum of entries = sum of lot remainders after every write.

On PostgreSQL one statement (`statements.book`, `statements.credit`) writes the rows; SQLite, which has no
data-modifying CTEs, books the same rows through the ORM. The caller holds the account lock.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

from django.db import connection
from django.db.models import F

from kopilka.ledger import booking, reference, statements
from kopilka.ledger._inputs import Context
from kopilka.ledger._locking import lot_states
from kopilka.ledger.models import Account, Allocation, Entry, Hold, Lot


def new_entry(account: Account, kind: str, amount: int, ctx: Context, **fields) -> Entry:
    """An entry of `ctx` (who, when, why, source) for `account`, whose `balance` is already the balance after it."""
    return Entry(
        account=account, kind=kind, amount=amount, balance_after=account.balance, source_kind=ctx.source.kind,
        source_ref=ctx.source.ref, reason_code=ctx.reason_code, comment=ctx.comment, actor=ctx.actor,
        effective_at=ctx.at, created_at=ctx.now, **fields,
    )


def book(
    account: Account,
    kind: str,
    amount: int,
    ctx: Context,
    *,
    lot: Lot | None = None,
    moves: Sequence[tuple[int, int]] = (),
    hold: Hold | None = None,
    reverses: Entry | None = None,
    idempotency_key: str | None = None,
    fingerprint: str = "",
    details: dict | None = None,
) -> Entry:
    """Append one entry and apply it: to `lot` directly, or through `moves` [(lot id, delta)] as allocations.

    The caller holds the account lock. The entry, its allocations, the lot remainders and the balance snapshot are
    written together; the returned entry is the row as stored."""
    account.balance += amount
    entry = new_entry(account, kind, amount, ctx, lot=lot, hold=hold, reverses=reverses, details=details,
                       idempotency_key=idempotency_key, fingerprint=fingerprint)
    if statements.available():
        entry.pk = statements.book(_entry_row(entry), list(moves))
        mark_stored(entry)
        return entry
    entry.save(force_insert=True)
    if lot is not None and amount:
        Lot.objects.filter(pk=lot.pk).update(remaining=F("remaining") + amount)
    if moves:
        Allocation.objects.bulk_create([Allocation(entry=entry, lot_id=lot_id, amount=n) for lot_id, n in moves])
        for lot_id, delta in sorted(moves):
            Lot.objects.filter(pk=lot_id).update(remaining=F("remaining") + delta)
    Account.objects.filter(pk=account.pk).update(balance=account.balance, updated_at=ctx.now)
    return entry


def _entry_row(entry: Entry) -> statements.EntryRow:
    return statements.EntryRow(
        account=entry.account_id, kind=entry.kind, amount=entry.amount, balance=entry.balance_after,
        source_kind=entry.source_kind, source_ref=entry.source_ref, reason_code=entry.reason_code,
        comment=entry.comment, actor=entry.actor, at=entry.effective_at, now=entry.created_at, lot=entry.lot_id,
        hold=entry.hold_id, reverses=entry.reverses_id, details=entry.details, key=entry.idempotency_key,
        fingerprint=entry.fingerprint,
    )


_ENTRY_COLUMNS = [field.attname for field in Entry._meta.concrete_fields]


def stored_entry(**values) -> Entry:
    """The entry stored with `values` (by column: `id`, `account_id`, `lot_id`, ...; those left out are null), built
    as the ORM builds a row it read: no related object is fetched or made."""
    return Entry.from_db(connection.alias, _ENTRY_COLUMNS, [values.get(name) for name in _ENTRY_COLUMNS])


def mark_stored(instance) -> None:
    """Tell Django that an instance built in Python is the row just inserted with its pk."""
    instance._state.adding = False
    instance._state.db = connection.alias


def credit(
    account: Account,
    kind: str,
    points: int,
    ctx: Context,
    *,
    category: reference.Category,
    expires_at: datetime,
    activates_at: datetime,
    key: str,
    fingerprint: str,
    details: dict | None = None,
) -> Entry:
    """A new lot, created holding `points`, with its accrual entry (carrying `details`); the account's debts are
    settled from it at once."""
    account.balance += points
    lot, entry = accrual_rows(account, kind, points, ctx, category=category, expires_at=expires_at,
                               activates_at=activates_at, key=key, fingerprint=fingerprint, details=details)
    if statements.available():
        entry.pk, lot.pk, has_debts = statements.credit(
            _entry_row(entry), category=category.id, activates_at=lot.activates_at, expires_at=lot.expires_at
        )
        mark_stored(lot)
        mark_stored(entry)
        entry.lot = lot
    else:
        lot.save(force_insert=True)
        entry.lot = lot
        entry.save(force_insert=True)
        Account.objects.filter(pk=account.pk).update(balance=account.balance, updated_at=ctx.now)
        has_debts = True  # the query in _settle_debts tells
    if has_debts:
        _settle_debts(account, entry, ctx)
    return entry


def accrual_rows(
    account: Account,
    kind: str,
    points: int,
    ctx: Context,
    *,
    category: reference.Category,
    expires_at: datetime,
    activates_at: datetime,
    key: str,
    fingerprint: str,
    details: dict | None = None,
) -> tuple[Lot, Entry]:
    """The lot of an accrual, created full, and its entry; `account.balance` is already the balance after it."""
    lot = Lot(
        account=account,
        category_id=category.id,
        source_kind=ctx.source.kind,
        source_ref=ctx.source.ref,
        amount=points,
        remaining=points,
        held=0,
        accrued_at=ctx.at,
        activates_at=activates_at.astimezone(UTC),
        expires_at=expires_at.astimezone(UTC),
        is_debt=False,
    )
    return lot, new_entry(account, kind, points, ctx, idempotency_key=key, fingerprint=fingerprint, details=details)


def _settle_debts(account: Account, entry: Entry, ctx: Context) -> None:
    """Pay the account's debt lots, oldest first, out of the lot `entry` just accrued; refreshes that lot."""
    debts = list(
        Lot.objects.select_for_update().filter(account=account, is_debt=True, remaining__lt=0).order_by("id")
    )
    paid = booking.plan_settlement([(debt.pk, -debt.remaining) for debt in debts], entry.amount)
    if not paid:
        return
    total = sum(amount for _, amount in paid)
    assert entry.lot_id is not None and entry.lot is not None  # credit books the accrual on its new lot
    moves = [(entry.lot_id, -total)] + paid
    book(account, Entry.Kind.SETTLEMENT, 0, ctx, moves=moves, reverses=entry, details={"settled": total})
    entry.lot.refresh_from_db()


def debit(
    account: Account,
    kind: str,
    points: int,
    ctx: Context,
    *,
    key: str,
    fingerprint: str,
    policy: str,
    lots: list[booking.LotState] | None = None,
) -> Entry:
    """Draw `points` from the account's spendable lots in the `policy` order, one allocation per lot drawn from.

    `lots`, when given, are the spendable lots read under the account lock (at least those the plan can draw)."""
    if lots is None:
        lots = lot_states(account)
    plan = booking.plan_spend(lots, points, ctx.at, policy)
    return book(
        account,
        kind,
        -points,
        ctx,
        moves=[(lot_id, -drawn) for lot_id, drawn in plan],
        idempotency_key=key,
        fingerprint=fingerprint,
        details={"redemption_order": policy},
    )
