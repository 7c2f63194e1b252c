"""The HTTP API (`/api/v1`, OpenAPI at `/api/v1/openapi.json`): a router per area, for integrations with API
keys and scopes and for staff with their session and permissions.

Owns no tables (API keys and idempotency records are core's). Routers parse, authorise and call services and
selectors; the rules live in the apps below.
May import: core, customers, catalog, orders, ledger, tiers, campaigns, communications, analytics, purchases.
Imported by: the URL configuration only.
Keeps true: nothing is anonymous, and credentials come first (every operation names its scope with
`auth=auth.scoped(...)`, checked before the request is parsed; one that names none refuses everyone); every
write goes through `idempotency` (a replay gets the first answer, a concurrent duplicate 409); every error has
one shape, `{"code", "message", "details"}`, in the request's language, 404/405 and Django's own failures
included (`middleware`); hostile input never reaches a route (`hostile`); the published schema states what is
enforced (`openapi`), each operation's scope included.
"""
