"""Campaigns (промо-кампании, SPEC §3): types, versioned campaigns and their lifecycle, the rules (who, what
they earn, when, how the points may be spent and when they burn), the pure engine that applies them
(`engine`), conditions evaluated for one member and as one SQL query (`conditions`, `eligibility`), budgets
and per-member limits, product banners and member events.

Owns: CampaignType, Campaign, CampaignVersion, CampaignStatusChange, MemberUsage, EventType, MemberEvent.
May import: core, customers, catalog, orders, ledger, tiers. Imported by: purchases, communications,
analytics, the faces, seed and runtime.
Keeps true: a version once live is never changed (an edit makes a new one) and every entry a campaign
produces names its version; `budget_spent` ≤ `budget_points` and the per-member limits hold under
concurrency; `engine.py` does no I/O; the two evaluators of conditions agree (a Hypothesis test holds them).
"""
