"""The receipts store (SPEC §4.5): orders with their lines, status changes, returns and the points each order
earned and spent, from tills, web shops, 1C or an import of purchase history (`importing`, CSV streamed in
bounded memory), the hot path's recording of a new order by hand-written SQL (`placing`) and an order's contents
as the faces show them (`contents`). The flow that drives an order lives above, in `purchases`.

Owns: Order, OrderLine, OrderStatusChange, OrderReturn, OrderPoints, ImportBatch, ImportRow.
May import: core, customers, catalog. Imported by: tiers, campaigns, purchases, analytics, the faces, seed
and runtime.
Keeps true: (source, external_id) identifies an order, so a replayed purchase is refused by the database;
order.total = Σ line.amount, money in Decimal kopecks; purchases of non-members are kept; an import is all or
nothing and idempotent.
"""
