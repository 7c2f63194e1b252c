"""Kopilka, an on-premise points-based loyalty platform. Its apps, from the top floor down; each imports only
apps below it (`tests/test_layers.py` holds it), and each app's `__init__` says what it owns, what it may
import and what it keeps true:

    runtime                      the composition root: the commands that assemble the platform, the periodic
                                 schedule, the wiring between apps
    api, backoffice, seed        the faces (the HTTP API; the back office) and the demo data sets
    purchases                    the purchase coordinator: the quote of a cart and the flow of an order
    communications, analytics    messages to members; the programme's figures
    campaigns                    campaigns, their rules and engine, budgets and limits, events
    tiers                        tiers and members' tiers
    ledger                       the points ledger: lots, entries, allocations, holds
    orders                       the receipts store and purchase-history imports
    catalog                      products and product groups
    customers                    members and their reference books
    core                         clock, errors, programme settings, API keys, idempotency, the scheduler

`settings`, `urls`, `wsgi` and `cli` (the `kopilka` command) configure and start the whole.
"""
