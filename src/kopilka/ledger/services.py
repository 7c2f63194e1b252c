"""The ledger's writes, one public surface: callers do `from kopilka.ledger import services as ledger` and
call `ledger.accrue(...)`, `ledger.spend(...)`, `ledger.hold(...)` and so on.

Each write lives in the module of its job: accruals, spending, holds (hold, capture, release, timeouts),
fresh_holds (a hold for a source made in the caller's transaction, e.g. an order being placed), reversals
(reverse an accrual, restore a spend), adjustments (manual corrections, burning a lot) and expiry.
They share the private modules `_inputs` (checks and the write's context), `_locking` (idempotency and the
lock order), `_bookkeeping` (entries, lots and balance written together) and `_one_call` (a spend or an
accrual booked by one call of a database function on PostgreSQL).

What every write keeps true: it runs in one transaction that locks the member's account row first, then the
lots it touches in id order (the fixed lock order), books immutable entries, moves lot remainders and the
balance snapshot together, and returns the entry (or hold) it made. Every write from outside carries an
idempotency key: the same key with the same request returns the first result; with another request it is
refused. Nothing is written when a write is refused.
"""

from kopilka.ledger._inputs import Source
from kopilka.ledger.accruals import Accrual, accrue, accrue_many
from kopilka.ledger.adjustments import adjust, burn_lot
from kopilka.ledger.capturing import capture_held
from kopilka.ledger.expiry import expire
from kopilka.ledger.fresh_holds import hold_fresh
from kopilka.ledger.holds import capture, end_expired_hold, hold, release, release_expired_holds
from kopilka.ledger.reversals import TakeBack, restore_spend, reverse_accrual, reverse_accruals
from kopilka.ledger.spending import spend

__all__ = [
    "Source",
    "accrue",
    "Accrual",
    "accrue_many",
    "spend",
    "hold",
    "hold_fresh",
    "capture",
    "capture_held",
    "release",
    "end_expired_hold",
    "release_expired_holds",
    "reverse_accrual",
    "reverse_accruals",
    "TakeBack",
    "restore_spend",
    "adjust",
    "burn_lot",
    "expire",
]
