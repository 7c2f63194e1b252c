"""The points ledger (SPEC §2): accounts, lots, append-only entries, allocations and holds; the writes, one
module per job (`accruals`, `spending`, `holds`, `fresh_holds`, `reversals`, `adjustments`, `expiry`; `services`
re-exports them), the pure booking rules and the one definition of the redemption order (`booking`), the reads
(`selectors`, with UR whole or by segment), the proof of balances (`reconcile`), the sources an integration
may name (`sources`) and the ledger's reference books (`reference_books`).

Owns: Account, Lot, Entry, Allocation, Hold, HoldLine, LotCategory, ReasonCode.
May import: core, customers, catalog, orders. Never campaigns: a write takes a source (kind, reference) and a
reason. Imported by: tiers, campaigns, purchases, analytics, the faces, seed and runtime.
Keeps true: balance = Σ entries = Σ lot remainders for every account (`kopilka reconcile` proves it); entries
and allocations are never updated or deleted (a database trigger refuses it); on PostgreSQL a balance changes only
to its account's newest entry's balance_after and a lot's remainder only to Σ its entries and allocations, while
holds change `held` alone, never below zero (statement-level triggers, migration 0010); a write locks the account,
then the lots by id, and changes nothing when it refuses; a write from outside carries an idempotency key.
"""
