"""Capturing a whole hold inside the caller's transaction, in few round trips (PostgreSQL): the account lock and
the read of the hold, its lines and any entry under the key go in one round trip (two statements: the read runs
once the lock is granted, so it sees the hold as the last writer left it); the booking is one statement.

The rules are `holds.capture`'s for a whole hold: the same fingerprint, checks in the same order, the same rows
booked. No lot is locked: every write to a lot happens under its account's lock, which this holds. No savepoint:
a refused capture writes nothing. SQLite captures through `holds.capture`.
"""

from datetime import datetime

from django.db import IntegrityError, connection

from kopilka.core.errors import IdempotencyKeyReused
from kopilka.customers.models import Member
from kopilka.ledger import holds, statements
from kopilka.ledger._bookkeeping import mark_stored, new_entry
from kopilka.ledger._inputs import Source, check_key, context
from kopilka.ledger._locking import earlier_result, fingerprint_of
from kopilka.ledger.errors import HoldNotActive, HoldNotFound, MemberCannotEarnOrSpend
from kopilka.ledger.models import Account, Entry, Hold, HoldLine

_LOCK = f"""
SELECT a.id, a.member_id, a.balance, a.held, m.status
FROM {Account._meta.db_table} a JOIN {Member._meta.db_table} m ON m.id = a.member_id
WHERE a.id = (SELECT h.account_id FROM {Hold._meta.db_table} h WHERE h.id = %(hold)s)
FOR UPDATE OF a
"""

_READ = f"""
SELECT h.status, h.amount, h.expires_at, h.source_kind, h.source_ref, r.id, r.fingerprint,
       (SELECT array_agg(l.lot_id ORDER BY l.id) FROM {HoldLine._meta.db_table} l WHERE l.hold_id = h.id),
       (SELECT array_agg(l.amount ORDER BY l.id) FROM {HoldLine._meta.db_table} l WHERE l.hold_id = h.id)
FROM {Hold._meta.db_table} h LEFT JOIN {Entry._meta.db_table} r ON r.idempotency_key = %(key)s
WHERE h.id = %(hold)s
"""


def capture_held(*, hold_id: int, actor: str, idempotency_key: str, at: datetime | None = None) -> Entry:
    """Spend every held point of the hold from its lots and close it, as `holds.capture` without `points`."""
    if not statements.available():
        return holds.capture(hold_id=hold_id, actor=actor, idempotency_key=idempotency_key, at=at)
    key = check_key(idempotency_key)
    fingerprint = fingerprint_of("capture", hold=hold_id, points=None)
    params = {"hold": hold_id, "key": key}
    locked, read = statements.run_together([(_LOCK, params), (_READ, params)])
    if not locked:
        raise HoldNotFound(details={"hold_id": hold_id})
    account_id, member_id, balance, held, member_status = locked[0]
    status, amount, expires_at, source_kind, source_ref, replay_id, replay_fingerprint, lots, points = read[0]
    if replay_id is not None:
        if replay_fingerprint != fingerprint:
            raise IdempotencyKeyReused(details={"key": key})
        return Entry.objects.get(pk=replay_id)
    ctx = context(actor, at, Source(source_kind, source_ref))
    if status != Hold.Status.ACTIVE or expires_at <= ctx.now:
        raise HoldNotActive(details={"hold_id": hold_id, "status": status})
    if member_status != Member.Status.ACTIVE:
        raise MemberCannotEarnOrSpend(details={"member_id": member_id, "status": member_status})
    account = Account.from_db(connection.alias, ["id", "member_id", "balance", "held"],
                              [account_id, member_id, balance - amount, held - amount])
    entry = new_entry(account, Entry.Kind.SPEND, -amount, ctx, hold_id=hold_id, details={"held": amount},
                      idempotency_key=key, fingerprint=fingerprint)
    try:
        entry.pk = statements.capture(
            statements.EntryRow(
                account=account_id, kind=entry.kind, amount=entry.amount, balance=entry.balance_after,
                source_kind=source_kind, source_ref=source_ref, reason_code="", comment="", actor=actor, at=ctx.at,
                now=ctx.now, hold=hold_id, details=entry.details, key=key, fingerprint=fingerprint,
            ),
            list(zip(lots or [], points or [], strict=True)), account_held=held - amount,
            captured=Hold.Status.CAPTURED,
        )
    except IntegrityError:  # the key was taken by a request that committed meanwhile
        if (done := earlier_result(Entry, key, fingerprint)) is not None:
            return done
        raise
    mark_stored(entry)
    return entry
