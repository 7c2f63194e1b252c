"""The purchase coordinator: the quote of a cart and the flow of an order (place, pay, ship, complete, cancel,
return) that tills, web shops and 1C drive.

Owns no tables: it reads campaigns, tiers, the catalogue and the ledger, takes the points locks in the one order
(`campaigns.locking`), books through the ledger and records receipts into `orders`.
May import: core, customers, ledger, catalog, orders, tiers, campaigns. Imported by: api, backoffice, seed,
runtime.
"""
