"""Idempotency and the ledger's lock order, shared by every write.

A write locks the member's account row first (`lock_account`, creating the account on first use), then the
lots it touches in id order (`lock_lots`). The same idempotency key with the same request returns the first
result; with another request it is refused (IdempotencyKeyReused). Nothing is written when a write is refused.
"""

import hashlib
import json
from datetime import datetime
from functools import wraps

from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext_lazy as _

from kopilka.core.errors import IdempotencyKeyReused, NotFound
from kopilka.customers.models import Member
from kopilka.ledger import booking, statements
from kopilka.ledger.errors import InsufficientPoints, MemberCannotEarnOrSpend
from kopilka.ledger.models import Account, Entry, Hold, Lot


def fingerprint_of(operation: str, **params) -> str:
    canonical = json.dumps({"op": operation, **params}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def earlier_result(model, key: str, fingerprint: str):
    """The earlier result for this key, or None; a key used for a different request is refused."""
    existing = model.objects.filter(idempotency_key=key).first()
    if existing is None:
        return None
    if existing.fingerprint != fingerprint:
        raise IdempotencyKeyReused(details={"key": key})
    return existing


def atomic_write(fn):
    """Run a write in one transaction; a key taken concurrently by another member's request is refused, not a 500."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            with transaction.atomic():
                return fn(*args, **kwargs)
        except IntegrityError:
            key = kwargs.get("idempotency_key")
            if key and (
                Entry.objects.filter(idempotency_key=key).exists() or Hold.objects.filter(idempotency_key=key).exists()
            ):
                raise IdempotencyKeyReused(details={"key": key}) from None
            raise

    return wrapper


def idempotent(key: str, fingerprint: str, write):
    """Run `write()` in one transaction and return its entry.

    `write` learns of an earlier request with the same key when it locks the account (`lock_account`). When another
    request with the key commits while this one waits for the lock, the insert of our entry breaks the key's unique
    index (or, for a spend, the points may no longer suffice): the transaction is rolled back and the request is
    answered as a replay — the first entry, or IdempotencyKeyReused when that one was for another request."""
    try:
        with transaction.atomic():
            return write()
    except (IntegrityError, InsufficientPoints):
        if (done := earlier_result(Entry, key, fingerprint)) is not None:
            return done
        raise


_LOCK_SQL = f"""
SELECT a.id, a.balance, a.held, m.status, r.id, r.fingerprint
FROM {Account._meta.db_table} a
JOIN {Member._meta.db_table} m ON m.id = a.member_id
LEFT JOIN {Entry._meta.db_table} r ON r.idempotency_key = %(key)s
WHERE a.member_id = %(member)s
"""


def lock_account(
    member_id: int, key: str | None = None, *, spending: tuple[int, datetime, str] | None = None
) -> tuple[Member, Account, tuple[int, str] | None, list[booking.LotState] | None]:
    """Lock the member's account row (creating the account on first use). Always the first lock of a write.

    One statement returns the account, the member's status and — when `key` is given — (id, fingerprint) of the
    entry already booked under that key. That probe reads the snapshot the statement started with; see
    `idempotent` for a request with the same key committed while this one waited. With `spending` (points, at,
    policy) on PostgreSQL, the lots such a spend can draw from are read by a second statement sent in the same round
    trip, which runs once the lock is granted (so it sees every lot as of then)."""
    lock = " FOR UPDATE OF a" if connection.vendor == "postgresql" else ""  # SQLite: the write transaction locks
    queries = [(_LOCK_SQL + lock, {"member": member_id, "key": key})]
    if spending is not None and statements.available():
        queries.append(statements.spendable_prefix(member_id, *spending))
    results = statements.run_together(queries)
    if not results[0]:
        _open_account(member_id)
        return lock_account(member_id, key, spending=spending)
    account_id, balance, held, status, replay_id, replay_fingerprint = results[0][0]
    member = Member.from_db(connection.alias, ["id", "status"], [member_id, status])
    account = Account.from_db(
        connection.alias, ["id", "member_id", "balance", "held"], [account_id, member_id, balance, held]
    )
    lots = [booking.LotState(*row) for row in results[1]] if len(results) > 1 else None
    return member, account, None if replay_id is None else (replay_id, replay_fingerprint), lots


def _open_account(member_id: int) -> None:
    """Create the member's account unless it exists (or a concurrent first write creates it)."""
    if not Member.objects.filter(pk=member_id).exists():
        raise NotFound(_("No such member."), code="member_not_found", details={"member_id": member_id})
    try:
        with transaction.atomic():
            Account.objects.create(member_id=member_id)
    except IntegrityError:
        pass  # created by a concurrent first write


def replay_entry(replay: tuple[int, str], key: str, fingerprint: str) -> Entry:
    """The entry booked earlier under `key`; IdempotencyKeyReused when it answered another request."""
    entry_id, first_fingerprint = replay
    if first_fingerprint != fingerprint:
        raise IdempotencyKeyReused(details={"key": key})
    return Entry.objects.get(pk=entry_id)


def lock_lots(lot_ids: list[int]) -> None:
    """Lock these lots in id order (after the account: the ledger's lock order)."""
    list(Lot.objects.select_for_update().filter(pk__in=lot_ids).order_by("id").values_list("id", flat=True))


def require_active(member: Member) -> None:
    if not member.can_earn_or_spend:
        raise MemberCannotEarnOrSpend(details={"member_id": member.pk, "status": member.status})


def lot_states(account: Account, *, lot_ids=None) -> list[booking.LotState]:
    """The account's lots that have free points (or the given ones), in id order.

    Read without row locks: every write to a lot happens under its account's lock, which the caller holds, so these
    rows cannot change before the caller's transaction ends. Lots are then written in id order."""
    query = Lot.objects.filter(account_id=account.pk)
    if lot_ids is None:
        query = query.filter(spendable=True, is_debt=False)
    else:
        query = query.filter(pk__in=lot_ids)
    rows = query.order_by("id").values_list(
        "id", "category__redemption_rank", "accrued_at", "activates_at", "expires_at", "remaining", "held"
    )
    return [booking.LotState(*row) for row in rows]
