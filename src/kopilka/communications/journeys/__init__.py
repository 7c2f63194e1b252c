"""Trigger journeys (SPEC §8.2): members enter by what they do or by time, take steps — messages, waits, branches,
splits, rewards, tags — and leave; the worker moves them on (`run.run_journeys`, every minute).

Modules: `models` (journey, versions, visits, steps taken), `graph` (entry and steps read and checked, pure),
`services` (create, change, start/pause/resume/finish), `blueprints` (journeys shipped ready, Anna's), `entry`
(who enters), `events` (what happened, read by cursors), `advance` (due steps in batches), `moves` (a step taken
and the move on), `sending` (a send step's messages under the marketing rules), `texts` (a message's text made
right before its first send), `selectors` (the counts a journey's page shows), `step_events` (the steps taken, as
`journey.step` events for webhooks).

Keeps true: a member's visit runs on the version it entered, and a live journey's changed steps are a new version;
a member is inside a journey at most once at a time, and enters it once unless it allows re-entry (once per entry
key in any case: an event read twice lets nobody in twice); the journey's holdout and the programme's control
group are decided at entry by `core.holdout`'s hash, alike in Python and SQL, and a held-out visit takes no step;
each step is taken once per visit, in one transaction with its log row and everything it writes (messages through
the outbox and its rules, points through campaigns and their budgets under the lock order, tags through customers),
so a worker killed mid-batch loses nobody and repeats nothing. Each step taken becomes one `journey.step` event
afterwards, read from the log by a cursor: nothing is added to the step's transaction.
"""
