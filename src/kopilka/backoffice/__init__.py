"""The back office (`/office/`) and the administration's screens: roles as groups with permissions, the
support console and the member card, operations on points in two steps, compensations within limits and
their approvals, the catalogue and campaign builder (with a promo campaign's control group), campaign results
(exposed vs held out: `incrementality`), programme settings, analytics pages and their
embeddable widgets, the audit log.

Owns: CompensationLimit, CompensationRequest, WidgetLink (and the roles' groups, kept by `roles.sync_roles`).
May import: core, customers, catalog, orders, ledger, tiers, campaigns, communications, analytics, purchases.
Imported by: the URL configuration and runtime.
Keeps true: a role's permissions are those listed in `roles` after every migrate; every change made here is
in the audit log, which is append-only; a compensation above the requester's limits waits for someone else's
approval; a confirmed operation books once (its one-time key).
"""
