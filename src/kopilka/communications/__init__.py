"""Messages to members (SPEC §8): one outbox and delivery log for every channel — e-mail over SMTP, SMS through the
administrator's HTTP provider — under the delivery rules, and the public doors it needs (the unsubscribe page,
the provider's delivery reports).

Owns: Message, Attempt, SmsProvider.
May import: core, customers, catalog, orders, ledger, tiers, campaigns. Imported by: backoffice, runtime and the
URL configuration.
Keeps true: a notice is recorded once per (kind, source); a message is queued until sent or failed (with the
last error, after a day of tries at growing pauses), a sent SMS becomes delivered or failed only by the provider's
report; a message that may not go is recorded as skipped with its reason (no address, not a phone, no consent,
unsubscribed, frequency cap, member erased), never sent; every message needs consent to its channel in force, a
marketing one also room under the cap and, in quiet hours on the member's clock, waits until they end; a marketing
e-mail is never recorded without the public address its unsubscribe link needs; only the worker holding a
message's claim sends it, and its send ends before the claim does; every try is recorded, and every try carries the
same id (the e-mail's Message-ID, the SMS's client reference).
"""
