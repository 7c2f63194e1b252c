"""Messages to members (SPEC §8): an outbox the worker sends over SMTP.

Owns: Message, Attempt.
May import: core, customers, catalog, orders, ledger, tiers, campaigns. Imported by: backoffice and runtime.
Keeps true: a notice is recorded once per (kind, source); a message is queued until sent or failed (with the
last error, after a day of tries at growing pauses), and one to a member without an address or e-mail consent in
force is recorded as skipped, never sent; only the worker holding a message's claim sends it, and its send ends
before the claim does; every try is recorded, and every try carries the same Message-ID.
"""
