"""Messages to members (SPEC §8): one outbox and delivery log for every channel — e-mail over SMTP, SMS through the
administrator's HTTP provider — under the delivery rules, and the public doors it needs (the unsubscribe page,
the provider's delivery reports); message templates; personal notices (points accrued, spent and about to burn,
tier changed, campaign started and ending: `notice_*`, `expiring_points`); mass mailings with their control groups,
A/B variants, open and click tracking and results (`mailings`); the monthly plan of mechanics against fact
(`monthly_plan`); trigger journeys (`journeys`: entries, steps, versions, per-member visits advanced by the worker);
and webhooks: outbox events handed to the endpoints staff (or an integration through the API) register, signed as
Standard Webhooks says.

Owns: Message, Attempt, SmsProvider, MessageTemplate, Endpoint, EndpointSecret, Delivery, DeliveryAttempt,
EntryCursor, NoticeSetting, NoticeCursor, ExpiringRead, CampaignNoticeRun, Mailing, MailingVariant,
MailingRecipient, MessageEvent, PlanMechanic; Journey, JourneyVersion, JourneyState, JourneyStep,
JourneySegmentMember, JourneyCursor.
May import: core, customers, catalog, orders, ledger, tiers, campaigns. Imported by: backoffice, runtime and the
URL configuration.
Keeps true: a notice is recorded once per (kind, source); a message is queued until sent or failed (with the last
error, after a day of tries at growing pauses counted from its first try), a sent SMS becomes delivered or failed
only by the provider's report; a message that may not go is recorded as skipped with its reason (no address, not a
phone, no consent, unsubscribed, frequency cap, member erased, too late — past the relevance window its template gave
it), never sent; every message needs consent to its channel in force, a marketing one also room under the cap and, in
quiet hours on the member's clock, waits until they end; a marketing e-mail is never recorded without the public
address its unsubscribe link needs; only the worker holding a message's claim sends it, and its send ends before the
claim does; every try is recorded, and every try carries the same id (the e-mail's Message-ID, the SMS's client
reference); a message recorded without its text gets it from the filler of its kind right before its send,
under its claim (`services.fill_at_send`, wired by the composition root), so every try sends the same text. A
template's stored texts passed `templating.problems`.
Notices: each kind is sent only while the programme has it on, from the outbox's events and the ledger's entries
read by cursors safe against out-of-order commits (nothing is added to the ledger's writes or the nightly expiry);
one burn notice per member and burn day covers every lot burning that day; campaign notices are marketing and never
reach the members a campaign holds out or the programme's control group; they are written set-based under the
outbox's rules, a chunk of members per transaction, each member's once, and filled right before the send.
Mailings: a mailing's members and their groups (the programme's control group, its held-out share, its variants:
by the integer hash, the same in Python and SQL) are written down once, when it starts, and never change; held-out
members get no message, every other gets exactly one, written set-based under the outbox's rules and filled for
them right before the send; a tracking redirect goes only to a link the message had. A month's plan holds at most
three mechanics.
A journey's message is recorded under the same rules, set-based, with its template's relevance window counted from
its step, and gets its text from its template right before its first send (`journeys.texts`). Journeys keep what
`journeys` states.
Webhooks: an event reaches each enabled endpoint subscribed to its type once (one delivery per event and
endpoint), with one webhook-id on every try and replay, signed by every secret in use; only the worker holding a
delivery's claim sends it, to an address checked public (unless the endpoint allows private ones) at save and at
send, never following a redirect; a delivery is retried on the schedule for three days, an endpoint is disabled
by 410 or three days of failures; every ledger entry of a kind told of becomes one event, and every step a
journey visit took one `journey.step` event, none lost when ids commit out of order (`ledger_events`,
`journeys.step_events`).
Retention (`retention`): a delivery is deleted only once delivered or failed for good, an outbox event only once no
delivery of it is left and every reader of the outbox has passed it, so that nothing is read or recorded twice; the
message log is never pruned.
"""
