"""Budgets and per-member limits, kept exact under concurrency, and the expiry of what a campaign grants.

Lock order for every write that grants or gives back campaign points: the active campaigns that have a budget
(by id), then the member's row, then — inside the ledger — the member's account. Deciding happens after these
locks, so two purchases can never both take the last points of a budget or of a member's limit.
"""

from datetime import datetime, timedelta

from django.db.models import F

from kopilka.campaigns.engine import Decision
from kopilka.campaigns.models import Campaign, MemberUsage
from kopilka.campaigns.rules import ExpiryRule
from kopilka.campaigns.selectors import period_key
from kopilka.core import clock
from kopilka.customers.models import Member
from kopilka.ledger import services as ledger
from kopilka.ledger.models import Entry


def lock_for_granting(member_id: int) -> None:
    """Takes the locks of the module's order; call inside the transaction that decides and grants."""
    list(
        Campaign.objects.select_for_update()
        .filter(status=Campaign.Status.ACTIVE, budget_points__isnull=False)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    list(Member.objects.select_for_update().filter(pk=member_id).values_list("pk", flat=True))


def record_grant(decision: Decision, member_id: int, at: datetime) -> None:
    """Counts what an applied decision granted against its campaign's budget and the member's limit."""
    points = decision.granted
    campaign = Campaign.objects.get(code=decision.campaign.code)
    if campaign.budget_points is not None:
        Campaign.objects.filter(pk=campaign.pk).update(budget_spent=F("budget_spent") + points)
    limit = decision.campaign.rules.accrual.member_limit
    if limit is not None:
        _usage(campaign, member_id, period_key(limit.period, at), points)


def give_back(code: str, limit_period: str | None, member_id: int, points: int, accrued_at: datetime) -> None:
    """Returns taken-back points to the campaign's budget and to the member's limit of the accrual's period."""
    campaign = Campaign.objects.filter(code=code).first()
    if campaign is None:
        return
    if campaign.budget_points is not None:
        Campaign.objects.filter(pk=campaign.pk).update(budget_spent=F("budget_spent") - points)
    if limit_period is not None:
        _usage(campaign, member_id, period_key(limit_period, accrued_at), -points)


def _usage(campaign: Campaign, member_id: int, key: str, points: int) -> None:
    usage, _ = MemberUsage.objects.get_or_create(campaign=campaign, member_id=member_id, period_key=key)
    MemberUsage.objects.filter(pk=usage.pk).update(points=F("points") + points)


def expiry_arguments(rule: ExpiryRule, at: datetime) -> dict:
    """The ledger's accrue() arguments for when points accrued at `at` burn."""
    if rule.kind == "days":
        return {"lifetime_days": rule.days}
    if rule.kind == "end_of_month":
        return {"expires_at": clock.end_of_day(clock.last_day_of_month(clock.local_date(at), rule.months))}
    return {"expires_at": clock.end_of_day(rule.date)}


def pending_until(pending_days: int, at: datetime) -> datetime | None:
    return at + timedelta(days=pending_days) if pending_days else None


def grant(decisions: list[Decision], member_id: int, at: datetime, *, actor: str, key: str) -> list[tuple[Decision, Entry]]:
    """Books the points of the applied decisions as of `at`, each a lot of its campaign version that burns by the
    campaign's expiry rule; counts them against budgets and limits. Call after `lock_for_granting`. `key` + the
    version make each accrual's idempotency key. A campaign whose fixed expiry has passed grants nothing."""
    booked = []
    for decision in decisions:
        if not decision.applied:
            continue
        campaign, rules = decision.campaign, decision.campaign.rules
        expiry = expiry_arguments(rules.expiry, at)
        if "expires_at" in expiry and expiry["expires_at"] <= at:
            continue
        record_grant(decision, member_id, at)
        entry = ledger.accrue(
            member_id=member_id, points=decision.granted, category=campaign.lot_category, actor=actor,
            source=ledger.Source("campaign", campaign.reference), at=at,
            pending_until=pending_until(rules.accrual.pending_days, at),
            idempotency_key=f"{key}:{campaign.reference}", **expiry,
        )
        booked.append((decision, entry))
    return booked
