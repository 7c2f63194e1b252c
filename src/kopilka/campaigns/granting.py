"""Granting what campaigns decided, and giving it back: budgets and per-member limits kept exact, and the expiry of
what a campaign grants.

Every function here runs under `locking.PointsLocks` (the budgets that can apply, then the member): decisions are
made under those locks, so two purchases can never both take the last points of a budget or of a member's limit.
"""

from datetime import datetime, timedelta

from django.db import connection

from kopilka.campaigns.engine import Decision
from kopilka.campaigns.locking import PointsLocks
from kopilka.campaigns.models import MemberUsage
from kopilka.campaigns.rules import ExpiryRule
from kopilka.campaigns.selectors import period_key
from kopilka.core import clock
from kopilka.ledger import services as ledger
from kopilka.ledger.models import Entry

_USAGE = MemberUsage._meta.db_table


def _usage(member_id: int, points: dict[tuple[int, str], int]) -> None:
    """Adds points (or takes them back) to what the member earned from each (campaign, period key), in one
    statement; the member's lock is held, so nobody else writes these rows meanwhile."""
    if not points:
        return
    values = ", ".join("(%s, %s, %s, %s)" for _ in points)
    params = [value for (campaign_id, key), n in points.items() for value in (campaign_id, member_id, key, n)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_USAGE} (campaign_id, member_id, period_key, points) VALUES {values}"
            f" ON CONFLICT (campaign_id, member_id, period_key)"
            f" DO UPDATE SET points = {_USAGE}.points + excluded.points",
            params,
        )


def give_back(locks: PointsLocks, campaign_id: int, limit_period: str | None, points: int,
              accrued_at: datetime) -> None:
    """Returns taken-back points to the campaign's budget (when it has one: the plan locked it) and to the member's
    limit of the accrual's period."""
    if campaign_id in locks.shards:
        locks.give(campaign_id, points)
    if limit_period is not None:
        _usage(locks.member_id, {(campaign_id, period_key(limit_period, accrued_at)): -points})


def expiry_arguments(rule: ExpiryRule, at: datetime) -> dict:
    """The ledger's accrue() arguments for when points accrued at `at` burn."""
    if rule.kind == "days":
        return {"lifetime_days": rule.days}
    if rule.kind == "end_of_month":
        return {"expires_at": clock.end_of_day(clock.last_day_of_month(clock.local_date(at), rule.months))}
    assert rule.date is not None  # ExpiryRule refuses a fixed date without the date
    return {"expires_at": clock.end_of_day(rule.date)}


def pending_until(pending_days: int, at: datetime) -> datetime | None:
    return at + timedelta(days=pending_days) if pending_days else None


def grant(
    decisions: list[Decision], locks: PointsLocks, at: datetime, *, actor: str, key: str
) -> list[tuple[Decision, Entry]]:
    """Books the points of the applied decisions as of `at`, each a lot of its campaign version that burns by the
    campaign's expiry rule; counts them against budgets and limits. The decisions were made on `locks.live(...)`;
    a budget cut short by the member's shard raises `PlanTooNarrow` before anything is written. `key` + the version
    make each accrual's idempotency key; the accruals are booked by one ledger call. A campaign whose fixed expiry
    has passed grants nothing. Each accrual entry keeps the points the rule wanted before the budget and the
    member's limit cut them, as its details {"desired": N} (what a campaign's results compare the grants with)."""
    locks.check(decisions)
    applied, accruals, taken, used = [], [], {}, {}
    for decision in decisions:
        if not decision.applied:
            continue
        campaign, rules = decision.campaign, decision.campaign.rules
        # An applied decision earns under its accrual rule, and is of a campaign read from its row.
        assert rules.accrual is not None and campaign.campaign_id is not None
        expiry = expiry_arguments(rules.expiry, at)
        if "expires_at" in expiry and expiry["expires_at"] <= at:
            continue
        if campaign.budget_left is not None:
            taken[campaign.campaign_id] = decision.granted
        limit = rules.accrual.member_limit
        if limit is not None:
            used[campaign.campaign_id, period_key(limit.period, at)] = decision.granted
        applied.append(decision)
        accruals.append(ledger.Accrual(
            points=decision.granted, idempotency_key=f"{key}:{campaign.reference}", category=campaign.lot_category,
            source=ledger.Source("campaign", campaign.reference),
            pending_until=pending_until(rules.accrual.pending_days, at), details={"desired": decision.desired},
            **expiry,
        ))
    entries = ledger.accrue_many(member_id=locks.member_id, accruals=accruals, actor=actor, at=at) if accruals else []
    locks.take(taken)
    _usage(locks.member_id, used)
    return list(zip(applied, entries, strict=True))
