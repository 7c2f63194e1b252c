"""The one-call PostgreSQL path: a spend or an accrual booked by one call of a database function (migration
`ledger 0004`, through `statements.spend_at_once` / `accrue_at_once`) that locks, checks and books.

The function leaves to the Python path every case with more to decide (the member's first write, debts to
settle): then these helpers return None and the caller books through `_locking` and `_bookkeeping`. Its
answers map to the same results and errors as the Python path's; tests compare the two paths.

Round trips are what a write costs (the booking rules are cheap): this path is one; the Python path is two on
PostgreSQL (`lock_account` locks and reads the member's status, any earlier entry under the key and a spend's
candidate lots; `book` writes the entry, allocations, lots and balance in one statement).
"""

import json

from django.db import IntegrityError, connection, transaction

from kopilka.core import sql
from kopilka.ledger import reference, statements
from kopilka.ledger._bookkeeping import accrual_rows, mark_stored, new_entry, stored_entry
from kopilka.ledger._inputs import CheckedAccrual, Context
from kopilka.ledger._locking import earlier_result, replay_entry
from kopilka.ledger.errors import InsufficientPoints, MemberCannotEarnOrSpend
from kopilka.ledger.models import Account, Entry


def _at_once(call, params: dict, member_id: int, key: str, fingerprint: str) -> statements.AtOnce | Entry | None:
    """Run a booking function: its answer when it booked, the earlier entry when the key was used already, the
    Python path's error when it refused, None when the Python path must decide.

    Outside a transaction the call is one by itself (one round trip); inside one, a savepoint keeps a refused key
    from aborting the caller's work. A concurrent request with the same key shows as a broken unique index (or too
    few points after its spend) and is answered as a replay, as `idempotent` does."""
    try:
        if connection.in_atomic_block:
            with transaction.atomic():
                result = call(params)
        else:
            result = call(params)
    except IntegrityError:
        if (done := earlier_result(Entry, key, fingerprint)) is not None:
            return done
        raise
    if result.outcome == "ok":
        return result
    if result.outcome == "replay":
        return replay_entry((result.entry_id, result.detail), key, fingerprint)
    if result.outcome == "inactive":
        raise MemberCannotEarnOrSpend(details={"member_id": member_id, "status": result.detail})
    if result.outcome == "insufficient":
        if (done := earlier_result(Entry, key, fingerprint)) is not None:
            return done
        raise InsufficientPoints(details={"requested": params["points"], "available": int(result.detail)})
    return None


def _booked_account(result: statements.AtOnce, member_id: int) -> Account:
    return Account.from_db(connection.alias, ["id", "member_id", "balance"],
                           [result.account_id, member_id, result.balance_after])


def spend_at_once(member_id: int, points: int, ctx: Context, key: str, fingerprint: str, policy: str):
    params = _params_at_once(member_id, points, ctx, key, fingerprint) | {
        "policy": policy, "ranks": reference.by_rank(),
    }
    result = _at_once(statements.spend_at_once, params, member_id, key, fingerprint)
    if not isinstance(result, statements.AtOnce):
        return result
    entry = new_entry(_booked_account(result, member_id), Entry.Kind.SPEND, -points, ctx,
                       details={"redemption_order": policy}, idempotency_key=key, fingerprint=fingerprint)
    entry.pk = result.entry_id
    mark_stored(entry)
    return entry


def accrue_at_once(member_id: int, points: int, ctx: Context, key: str, fingerprint: str, **lot) -> Entry | None:
    params = _params_at_once(member_id, points, ctx, key, fingerprint) | {
        "category": lot["category"].id, "kind": Entry.Kind.ACCRUAL, "activates_at": lot["activates_at"],
        "expires_at": lot["expires_at"], "details": _json(lot.get("details")),
    }
    result = _at_once(statements.accrue_at_once, params, member_id, key, fingerprint)
    if not isinstance(result, statements.AtOnce):
        return result
    booked, entry = accrual_rows(_booked_account(result, member_id), Entry.Kind.ACCRUAL, points, ctx,
                                  key=key, fingerprint=fingerprint, **lot)
    booked.pk, entry.pk = result.lot_id, result.entry_id
    mark_stored(booked)
    mark_stored(entry)
    entry.lot = booked
    return entry


def _params_at_once(member_id: int, points: int, ctx: Context, key: str, fingerprint: str) -> dict:
    return {
        "member": member_id, "points": points, "at": ctx.at, "now": ctx.now, "key": key, "fingerprint": fingerprint,
        "source_kind": ctx.source.kind, "source_ref": ctx.source.ref, "reason_code": ctx.reason_code,
        "comment": ctx.comment, "actor": ctx.actor,
    }


def accrue_many_at_once(member_id: int, accruals: list[CheckedAccrual]) -> list[Entry]:
    """Book the accruals in order by one call of `kopilka_accrue_many`; returns the entries of those it booked (a
    prefix: the rest are the Python path's to book, one by one). No savepoint: a refused call writes nothing."""
    first = accruals[0].ctx
    result = statements.accrue_many_at_once({
        "member": member_id, "points": sql.array([one.points for one in accruals]),
        "categories": sql.array([one.category.id for one in accruals]), "at": first.at,
        "activates_at": sql.array([one.activates_at for one in accruals]),
        "expires_at": sql.array([one.expires_at for one in accruals]),
        "keys": sql.array([one.key for one in accruals]),
        "fingerprints": sql.array([one.fingerprint for one in accruals]), "kind": Entry.Kind.ACCRUAL,
        "source_kinds": sql.array([one.ctx.source.kind for one in accruals]),
        "source_refs": sql.array([one.ctx.source.ref for one in accruals]),
        "details": sql.array([_json(one.details) for one in accruals]), "reason_code": first.reason_code,
        "comment": first.comment, "actor": first.actor, "now": first.now,
    })
    entries = []
    for one, entry_id, lot_id, balance in zip(accruals, result.entry_ids, result.lot_ids, result.balances,
                                              strict=False):
        ctx = one.ctx
        entries.append(stored_entry(
            id=entry_id, account_id=result.account_id, kind=Entry.Kind.ACCRUAL, amount=one.points,
            balance_after=balance, lot_id=lot_id, source_kind=ctx.source.kind, source_ref=ctx.source.ref,
            reason_code=ctx.reason_code, comment=ctx.comment, details=one.details, actor=ctx.actor,
            idempotency_key=one.key, fingerprint=one.fingerprint, effective_at=ctx.at, created_at=ctx.now,
        ))
    return entries


def _json(details: dict | None) -> str | None:
    """An entry's details as the JSON text the booking functions take (NULL for none)."""
    return None if details is None else json.dumps(details)
