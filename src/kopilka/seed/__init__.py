"""The demo data set (`demo`: the programme of `programme`, members, 18 months of purchases and their points,
written through the services a deployment uses) and the bulk data set for analytics at scale (`bulk`:
set-based SQL on PostgreSQL).

Owns no tables. May import: core, customers, catalog, orders, ledger, tiers, campaigns, purchases.
Imported by: runtime (`kopilka seed`, `kopilka demo`), and the benchmarks and tests.
Keeps true: a data set goes only into a programme without members (the bulk one also without purchases);
`kopilka reconcile` holds on what it writes.
"""
