"""Expiry (сгорание) as set-based SQL.

`expire(as_of)` burns the free points of every lot whose expiry time is at or before `as_of`: one expiry entry per
lot (effective at the lot's expiry time), the lot's remainder cut to what holds still reserve, the balance snapshot
lowered — in batches, each batch one transaction that first locks its accounts in id order (the ledger's lock
order). Running it again for the same `as_of` finds nothing left to burn, so it is idempotent and safe to resume.
Points still reserved by a live hold are not burned; they burn at the first run after the hold ends uncaptured.
"""

from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction

from kopilka.core import clock, sql
from kopilka.core.progress import Progress
from kopilka.ledger import statements

DEFAULT_BATCH_LOTS = 20_000
DEFAULT_WORKERS = 2  # PostgreSQL connections burning batches at once
_PAGE_ACCOUNTS = 100_000  # accounts with due lots read per query (two integers each)

_DUE = "l.expires_at <= %(as_of)s AND l.spendable AND NOT l.is_debt"


@dataclass(frozen=True)
class ExpiryResult:
    lots: int
    points: int
    accounts: int


def _accounts_clause(ids: list[int]) -> tuple[str, dict]:
    if connection.vendor == "postgresql":
        return "= ANY(%(accounts)s)", {"accounts": ids}
    params = {f"a{i}": account_id for i, account_id in enumerate(ids)}
    return "IN (" + ", ".join(f"%({name})s" for name in params) + ")", params


def _due_accounts(cursor, as_of: datetime, after: int, limit: int) -> list[tuple[int, int]]:
    """[(account id, due lots)] of the next `limit` accounts with due lots whose id is above `after`, in id order.

    Batches of consecutive accounts touch neighbouring lot, entry and account pages (members accrue at similar
    times), where batches taken in expiry-time order scatter over the whole lot table."""
    cursor.execute(
        f"""
        SELECT l.account_id, COUNT(*) FROM ledger_lot l
        WHERE {_DUE} AND l.account_id > %(after)s
        GROUP BY l.account_id ORDER BY l.account_id LIMIT %(limit)s
        """,
        {"as_of": as_of, "after": after, "limit": limit},
    )
    return [(int(account_id), int(n)) for account_id, n in cursor.fetchall()]


def _batches(accounts: list[tuple[int, int]], batch_lots: int) -> list[list[int]]:
    """Consecutive runs of accounts with at most `batch_lots` due lots each (at least one account per run)."""
    batches: list[list[int]] = []
    current: list[int] = []
    size = 0
    for account_id, lots in accounts:
        if current and size + lots > batch_lots:
            batches.append(current)
            current, size = [], 0
        current.append(account_id)
        size += lots
    if current:
        batches.append(current)
    return batches


def _lock_accounts(cursor, accounts: list[int], *, own_transaction: bool) -> None:
    """Lock the accounts in id order: the ledger's first lock (SQLite's write transaction already excludes others).

    On PostgreSQL a batch in its own transaction commits without waiting for its WAL to reach the disk: a crash can
    lose the last batches (never part of one), and since expiry is idempotent the next run burns them again. Nothing
    outside the database has seen them, so nothing else can disagree. Inside a caller's transaction the caller's
    durability is left alone."""
    if connection.vendor == "postgresql":
        if own_transaction:
            cursor.execute("SET LOCAL synchronous_commit = off")
        # Compiling the batch statement costs more than it saves: every batch is planned anew.
        cursor.execute("SET LOCAL jit = off")
        cursor.execute("SELECT id FROM ledger_account WHERE id = ANY(%s) ORDER BY id FOR UPDATE", [accounts])


def _burn(cursor, accounts: list[int], as_of: datetime, actor: str, now: datetime) -> tuple[int, int, int]:
    """Book the expiry of every lot of the (locked) accounts that is still due; returns (lots, points, accounts)."""
    params = {"as_of": as_of, "actor": actor, "now": now}
    if statements.available():
        # Planned for each batch: a plan kept for the first batches could not know how many lots later ones hold.
        lots, points, touched = sql.driver_rows(_BURN_POSTGRESQL, {**params, "accounts": accounts}, one=True,
                                                prepare=False)
        return int(lots), int(points), int(touched)
    return _burn_stepwise(cursor, accounts, params)


# One statement per batch. Every sub-statement of a data-modifying CTE sees the snapshot taken when the statement
# starts, so `due` holds the lots as they were before `burned` changes them; `burned` finds the same lots by the same
# predicate (a join with `due` would walk the lot table's key index from its start). `booked` computes running
# balances from the account rows as they were before `lowered` changes them. The accounts are locked by the previous
# statement (the snapshot is taken after the locks are granted), so nothing else changes these rows meanwhile.
# Entries are numbered in the order of their running balances, so an account's newest entry holds its new balance
# (what the database's check of the snapshot, migration ledger 0010, compares the balance with).
_BURN_POSTGRESQL = f"""
WITH due AS MATERIALIZED (
    SELECT l.id, l.account_id, l.remaining - l.held AS burn, l.expires_at, l.source_kind, l.source_ref
    FROM ledger_lot l
    WHERE l.account_id = ANY(%(accounts)s) AND {_DUE}
),
burned AS (
    UPDATE ledger_lot l SET remaining = l.held WHERE l.account_id = ANY(%(accounts)s) AND {_DUE}
),
booked AS (
    INSERT INTO ledger_entry (account_id, kind, amount, balance_after, lot_id, source_kind, source_ref,
                              reason_code, comment, actor, fingerprint, effective_at, created_at)
    SELECT d.account_id, 'expiry', -d.burn,
           a.balance - SUM(d.burn) OVER (PARTITION BY d.account_id ORDER BY d.expires_at, d.id
                                         ROWS UNBOUNDED PRECEDING),
           d.id, d.source_kind, d.source_ref, '', '', %(actor)s, '', d.expires_at, %(now)s
    FROM due d JOIN ledger_account a ON a.id = d.account_id
    ORDER BY d.account_id, d.expires_at, d.id
),
totals AS (
    SELECT account_id, SUM(burn) AS burn, COUNT(*) AS lots FROM due GROUP BY account_id
),
lowered AS (
    UPDATE ledger_account a SET balance = a.balance - t.burn, updated_at = %(now)s FROM totals t
    WHERE a.id = t.account_id
)
SELECT COALESCE(SUM(lots), 0), COALESCE(SUM(burn), 0), COUNT(*) FROM totals
"""


def _burn_stepwise(cursor, accounts: list[int], params: dict) -> tuple[int, int, int]:
    """The same booking as `_BURN_POSTGRESQL` in four statements, for SQLite (no data-modifying CTEs there).

    Order matters: entries and the balance are computed from the lots before their remainders are cut."""
    clause, ids = _accounts_clause(accounts)
    params = {**params, **ids}
    cursor.execute(
        f"""
        INSERT INTO ledger_entry (account_id, kind, amount, balance_after, lot_id, source_kind, source_ref,
                                  reason_code, comment, actor, fingerprint, effective_at, created_at)
        SELECT l.account_id, 'expiry', l.held - l.remaining,
               a.balance - SUM(l.remaining - l.held) OVER (
                   PARTITION BY l.account_id ORDER BY l.expires_at, l.id ROWS UNBOUNDED PRECEDING),
               l.id, l.source_kind, l.source_ref, '', '', %(actor)s, '', l.expires_at, %(now)s
        FROM ledger_lot l JOIN ledger_account a ON a.id = l.account_id
        WHERE l.account_id {clause} AND {_DUE}
        ORDER BY l.account_id, l.expires_at, l.id
        """,
        params,
    )
    lots = cursor.rowcount
    cursor.execute(
        f"""
        SELECT COALESCE(SUM(l.remaining - l.held), 0), COUNT(DISTINCT l.account_id) FROM ledger_lot l
        WHERE l.account_id {clause} AND {_DUE}
        """,
        params,
    )
    points, touched = cursor.fetchone()
    cursor.execute(
        f"""
        UPDATE ledger_account SET updated_at = %(now)s, balance = balance - (
            SELECT COALESCE(SUM(l.remaining - l.held), 0) FROM ledger_lot l
            WHERE l.account_id = ledger_account.id AND {_DUE})
        WHERE id {clause}
        """,
        params,
    )
    cursor.execute(f"UPDATE ledger_lot AS l SET remaining = l.held WHERE l.account_id {clause} AND {_DUE}", params)
    return lots, int(points), int(touched)


def expire(
    *,
    as_of: datetime,
    actor: str = "system:expiry",
    progress: Progress | None = None,
    batch_lots: int = DEFAULT_BATCH_LOTS,
    workers: int | None = None,
) -> ExpiryResult:
    """Burn everything due at `as_of`. Each batch commits on its own, so a long run can be interrupted and resumed.

    A pass walks the accounts with due lots in id order; passes repeat until one finds nothing to burn, so lots that
    become due during a run (points returned into an expired lot, a hold ending) are burned by the same run.
    On PostgreSQL, outside a transaction, `workers` connections (default DEFAULT_WORKERS) burn batches side by side:
    batches hold disjoint accounts, so they never wait for each other, and each locks its accounts in id order."""
    as_of = clock.make_aware(as_of)
    workers = _workers(workers)
    total = ExpiryResult(lots=0, points=0, accounts=0)
    while True:
        burned = _expire_pass(as_of, actor, progress, batch_lots, workers)
        total = ExpiryResult(*(a + b for a, b in zip(_fields(total), _fields(burned), strict=True)))
        if not burned.lots:
            break
    if progress is not None:
        progress.finish()
    return total


def _workers(asked: int | None) -> int:
    """Connections to burn with: one on SQLite (a single writer) and inside a caller's transaction (other
    connections would not see its rows, nor could they commit as part of it)."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return 1
    return max(1, DEFAULT_WORKERS if asked is None else asked)


def _fields(result: ExpiryResult) -> tuple[int, int, int]:
    return result.lots, result.points, result.accounts


def _expire_pass(
    as_of: datetime, actor: str, progress: Progress | None, batch_lots: int, workers: int
) -> ExpiryResult:
    """One walk over the accounts that have due lots; each batch locks its accounts, then burns their due lots."""
    lots = points = accounts = 0
    after = 0
    while True:
        with connection.cursor() as cursor:
            page = _due_accounts(cursor, as_of, after, _PAGE_ACCOUNTS)
        if not page:
            return ExpiryResult(lots=lots, points=points, accounts=accounts)
        for burned in _burn_batches(_batches(page, batch_lots), as_of, actor, workers):
            lots, points, accounts = lots + burned[0], points + burned[1], accounts + burned[2]
            if progress is not None:
                progress.advance(burned[0])
        after = page[-1][0]


def _burn_batches(batches: list[list[int]], as_of: datetime, actor: str, workers: int):
    """Yield (lots, points, accounts) of each batch burned, by this connection or by `workers` threads' own."""
    if workers == 1 or len(batches) == 1:
        for batch in batches:
            yield _burn_batch(batch, as_of, actor)
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="expiry") as pool:
        for done in as_completed([pool.submit(_burn_batch_in_thread, batch, as_of, actor) for batch in batches]):
            yield done.result()


def _burn_batch(batch: list[int], as_of: datetime, actor: str) -> tuple[int, int, int]:
    """One transaction: lock the batch's accounts in id order, then burn their due lots."""
    own_transaction = not connection.in_atomic_block
    with transaction.atomic(), connection.cursor() as cursor:
        _lock_accounts(cursor, batch, own_transaction=own_transaction)
        return _burn(cursor, batch, as_of, actor, clock.now())


def _burn_batch_in_thread(batch: list[int], as_of: datetime, actor: str) -> tuple[int, int, int]:
    try:
        return _burn_batch(batch, as_of, actor)
    finally:
        connection.close()  # the thread's own connection

