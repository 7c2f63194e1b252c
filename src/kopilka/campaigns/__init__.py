"""Campaigns (промо-кампании, SPEC §3): types, versioned campaigns and their lifecycle, the rules (who, what
they earn, when, how the points may be spent and when they burn), the pure engine that applies them
(`engine`), conditions evaluated for one member and as one SQL query (`conditions`, `eligibility`), budgets
kept in shards (`budgets`) and per-member limits, product banners, member events, the programme's one
lock order for every write that touches points (`locking`), control groups of promo campaigns (`holdout`), and
what a campaign achieved in a period (`results`: members who earned, points desired and granted, the budget, where
its lots' points went, the receipts that earned; `holdout_results`: its exposed members against those held out).

Owns: CampaignType, Campaign, CampaignVersion, CampaignStatusChange, BudgetShard, MemberUsage, EventType,
MemberEvent.
May import: core, customers, catalog, orders, ledger, tiers. Imported by: purchases, communications,
analytics, the faces, seed and runtime.
Keeps true: a version once live is never changed (an edit makes a new one) and every entry a campaign
produces names its version; a budget is never exceeded and the per-member limits hold under concurrency;
writers lock budgets → member → account → lots, never back up (`locking`); `engine.py` does no I/O; the two
evaluators of conditions agree (a Hypothesis test holds them), and so do the engine and the eligibility SQL on whom
a promo campaign holds out (its own share and the programme's control group); base earning and compensation hold
nobody out.
"""
