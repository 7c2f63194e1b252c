"""Proof that the ledger adds up: snapshot = Σ entries = Σ lot remainders, and every lot and hold agrees with the
entries and allocations that touched it. Each check is one set-based query returning only the rows that disagree."""

from dataclasses import dataclass

from django.db import connection

CHECKS = {
    "balance_vs_entries": """
        SELECT a.id, a.balance, COALESCE(e.total, 0)
        FROM ledger_account a
        LEFT JOIN (SELECT account_id, SUM(amount) AS total FROM ledger_entry GROUP BY account_id) e
               ON e.account_id = a.id
        WHERE a.balance <> COALESCE(e.total, 0) {account_filter}
    """,
    "balance_vs_lots": """
        SELECT a.id, a.balance, COALESCE(l.total, 0)
        FROM ledger_account a
        LEFT JOIN (SELECT account_id, SUM(remaining) AS total FROM ledger_lot GROUP BY account_id) l
               ON l.account_id = a.id
        WHERE a.balance <> COALESCE(l.total, 0) {account_filter}
    """,
    "lot_vs_movements": """
        SELECT lot.id, lot.remaining, COALESCE(d.total, 0) + COALESCE(al.total, 0)
        FROM ledger_lot lot
        JOIN ledger_account a ON a.id = lot.account_id
        LEFT JOIN (SELECT lot_id, SUM(amount) AS total FROM ledger_entry WHERE lot_id IS NOT NULL GROUP BY lot_id) d
               ON d.lot_id = lot.id
        LEFT JOIN (SELECT lot_id, SUM(amount) AS total FROM ledger_allocation GROUP BY lot_id) al
               ON al.lot_id = lot.id
        WHERE lot.remaining <> COALESCE(d.total, 0) + COALESCE(al.total, 0) {account_filter}
    """,
    "entry_vs_allocations": """
        SELECT e.id, e.amount, COALESCE(al.total, 0)
        FROM ledger_entry e
        JOIN ledger_account a ON a.id = e.account_id
        JOIN (SELECT entry_id, SUM(amount) AS total, COUNT(*) AS n FROM ledger_allocation GROUP BY entry_id) al
               ON al.entry_id = e.id
        WHERE (e.amount <> al.total OR e.lot_id IS NOT NULL) {account_filter}
    """,
    "held_vs_lots": """
        SELECT a.id, a.held, COALESCE(l.total, 0)
        FROM ledger_account a
        LEFT JOIN (SELECT account_id, SUM(held) AS total FROM ledger_lot GROUP BY account_id) l
               ON l.account_id = a.id
        WHERE a.held <> COALESCE(l.total, 0) {account_filter}
    """,
    "held_vs_holds": """
        SELECT a.id, a.held, COALESCE(h.total, 0)
        FROM ledger_account a
        LEFT JOIN (SELECT account_id, SUM(amount) AS total FROM ledger_hold WHERE status = 'active'
                   GROUP BY account_id) h
               ON h.account_id = a.id
        WHERE a.held <> COALESCE(h.total, 0) {account_filter}
    """,
    "hold_vs_lines": """
        SELECT h.id, h.amount, COALESCE(hl.total, 0)
        FROM ledger_hold h
        JOIN ledger_account a ON a.id = h.account_id
        LEFT JOIN (SELECT hold_id, SUM(amount) AS total FROM ledger_holdline GROUP BY hold_id) hl
               ON hl.hold_id = h.id
        WHERE h.amount <> COALESCE(hl.total, 0) {account_filter}
    """,
}


@dataclass(frozen=True)
class Discrepancy:
    check: str
    row_id: int
    recorded: int
    computed: int


@dataclass(frozen=True)
class ReconcileReport:
    accounts: int
    discrepancies: list[Discrepancy]

    @property
    def clean(self) -> bool:
        return not self.discrepancies


def reconcile(member_id: int | None = None, limit_per_check: int = 100) -> ReconcileReport:
    """Run every check over all accounts, or one member's; at most `limit_per_check` rows reported per check."""
    account_filter = "AND a.member_id = %(member)s" if member_id is not None else ""
    params = {"member": member_id, "limit": limit_per_check}
    found: list[Discrepancy] = []
    with connection.cursor() as cursor:
        for name, sql in CHECKS.items():
            cursor.execute(sql.format(account_filter=account_filter) + " LIMIT %(limit)s", params)
            found += [Discrepancy(name, int(r[0]), int(r[1]), int(r[2])) for r in cursor.fetchall()]
        if member_id is None:
            cursor.execute("SELECT COUNT(*) FROM ledger_account")
        else:
            cursor.execute("SELECT COUNT(*) FROM ledger_account WHERE member_id = %(member)s", params)
        accounts = int(cursor.fetchone()[0])
    return ReconcileReport(accounts=accounts, discrepancies=found)
