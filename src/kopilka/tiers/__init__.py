"""Tiers (статусы, SPEC §5): levels a member reaches by turnover or points earned over a rolling window, or
holds by a paid subscription; the recompute after a purchase and the periodic review.

Owns: Tier, MemberTier, TierChange.
May import: core, customers, catalog, orders, ledger. Imported by: campaigns, purchases, analytics, the faces,
seed and runtime.
Keeps true: a member's tier is never below their manual floor; an upgrade happens as soon as the member
qualifies, a downgrade only at a review; every change of tier is recorded with its reason.
"""
