"""Points accrued, spent and burned, as outbox events built afterwards from the ledger's entries (the ledger's
writes and the nightly expiry stay as fast as they are: nothing is added to them).

A pass reads the entries past the cursor (`EntryCursor`, moved by `settled_cursor`: none lost when ids commit out of
order) and records one event per entry of a kind told of, once per entry (its key).
"""

from django.db import transaction

from kopilka.communications import settled_cursor
from kopilka.communications.models import EntryCursor
from kopilka.core import outbox, sql
from kopilka.ledger.models import Account, Entry

EVENT_OF_KIND = {
    Entry.Kind.ACCRUAL: "points.accrued",
    Entry.Kind.SPEND: "points.spent",
    Entry.Kind.EXPIRY: "points.burned",
}
KEY_PREFIX = "ledger.entry:"  # an entry's event's key: the prefix and the entry's id

_ENTRIES = f"""
SELECT e.id, e.kind, e.amount, e.balance_after, a.member_id, e.lot_id, e.source_kind, e.source_ref, e.effective_at
FROM {Entry._meta.db_table} e JOIN {Account._meta.db_table} a ON a.id = e.account_id
WHERE e.id > %s ORDER BY e.id LIMIT %s
"""


def entries_to_events() -> int:
    """One pass over the entries past the cursor, under its lock (one pass at a time); returns how many events
    were new."""
    EntryCursor.objects.get_or_create(pk=1)
    with transaction.atomic():
        cursor = EntryCursor.objects.select_for_update().get(pk=1)
        rows = settled_cursor.advance(cursor, settled_cursor.pages_of(_ENTRIES))
        recorded = outbox.record_once(_event(row) for row in rows if row[1] in EVENT_OF_KIND)
        cursor.save()
    return recorded


def _event(row: tuple) -> tuple[str, str, str, dict, object]:
    entry_id, kind, amount, balance_after, member_id, lot_id, source_kind, source_ref, effective_at = row
    at = sql.moment(effective_at)
    payload = {"member_id": member_id, "entry_id": entry_id, "points": abs(amount), "balance_after": balance_after,
               "lot_id": lot_id, "source": {"kind": source_kind, "ref": source_ref}, "at": at}
    return f"{KEY_PREFIX}{entry_id}", EVENT_OF_KIND[kind], f"member:{member_id}", payload, at

