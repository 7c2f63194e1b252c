"""Messages to members (SPEC §8): an outbox the worker sends over SMTP; and webhooks: outbox events handed to the
endpoints staff register, signed as Standard Webhooks says.

Owns: Message, Attempt, Endpoint, EndpointSecret, Delivery, DeliveryAttempt, EntryCursor.
May import: core, customers, catalog, orders, ledger, tiers, campaigns. Imported by: backoffice and runtime.
Keeps true: a notice is recorded once per (kind, source); a message is queued until sent or failed (with the
last error, after a day of tries at growing pauses), and one to a member without an address or e-mail consent in
force is recorded as skipped, never sent; only the worker holding a message's claim sends it, and its send ends
before the claim does; every try is recorded, and every try carries the same Message-ID.
Webhooks: an event reaches each enabled endpoint subscribed to its type once (one delivery per event and
endpoint), with one webhook-id on every try and replay, signed by every secret in use; only the worker holding a
delivery's claim sends it, to an address checked public (unless the endpoint allows private ones) at save and at
send, never following a redirect; a delivery is retried on the schedule for three days, an endpoint is disabled
by 410 or three days of failures; every ledger entry of a kind told of becomes one event, none lost when ids
commit out of order (`ledger_events`).
"""
