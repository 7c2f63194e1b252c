"""The ground floor: what every app shares and that knows no app — the clock and the programme's time zone,
the one error tree, running a write again after a deadlock (`retrying`), the programme settings, API keys and
the record of idempotent requests, the audit log (`audit`: every door writes it in the transaction of its change),
the outbox of events (`outbox`: written in the transaction of their change), the periodic scheduler and its
claims, writing a reference book in batches
(`reference_books`), the one XML parser (`safe_xml`: no DTD, no entities), the secret key's checks, progress
printing, SQL helpers for the hot reads, and the hash that assigns members to control groups with the programme's
global control group (`holdout`).

Owns: ApiKey, AuditEvent, IdempotencyRecord, OutboxEvent, PeriodicRun, ProgrammeSettings.
May import: no other app. Imported by: every app.
Keeps true: "now" is `clock.now()`, stored times are aware UTC and calendar questions use the programme's
time zone; every refusal a user meets is an `errors.ApplicationError` with a stable code; an API key's secret
is stored only as its digest; a periodic job's slot is claimed once across all workers (`scheduling`); the
programme settings change only through `programme.change`, every value passing `programme.check`, and each
change is announced (`programme.changed`) inside its transaction; a member's control-group bucket is the same in
Python and in SQL on both databases (`holdout`); an outbox event exists only with its change.
"""
