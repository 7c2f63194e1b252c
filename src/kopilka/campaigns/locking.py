"""The one lock order of every write that touches points — payment, shipment, return, event, compensation, expiry,
manual operations:

    (the request's own row, e.g. its order) → the budgets of the campaigns that can apply, by campaign id and shard
    → the member's row → the member's account → the account's lots by id

`lock_points` takes the budgets and the member up front; the ledger takes the account and the lots. A write may
start lower down the order (a ledger write alone locks the account, expiry locks accounts by id), never go back up:
so no two writes can wait for each other in a circle.

How a writer uses it: decide without locks which budgeted campaigns can apply (`plan_for`: the scenario, event
type, products and minimum order, not the member's conditions), lock with `with_points_locks`, then decide again
under the locks on fresh data (`PointsLocks.live` shows each budget as its locked shards hold it) and grant. When a
decision needs more of a budget than the member's locked shard holds, `PointsLocks.check` raises `PlanTooNarrow`
with a plan that locks every shard of that campaign; `with_points_locks` rolls the attempt back — its locks go with
it — and runs it again. Plans only widen, so this ends. A request whose plan depends on its own row (an order's
lines) plans under that row's lock with `with_planned_points_locks`, from what the locked read returned: the row
is read once, and the order of the locks is the same.

The member's row is locked FOR NO KEY UPDATE, which rows that merely refer to the member (orders, events) do not
wait for.
"""

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.db import connection, transaction

from kopilka.campaigns import budgets
from kopilka.campaigns.engine import Decision, LiveCampaign, PurchaseLine, may_apply
from kopilka.campaigns.facts import CITY, MemberRow, member_row
from kopilka.core import sql
from kopilka.customers.models import Member, Region

T = TypeVar("T")
# The member's row as the purchase path needs it (`facts.MemberRow`), read by the statement that locks it. The
# region is read by subqueries of the select list, which PostgreSQL evaluates again on the row it locked after a
# wait (a joined region row would be the one of the statement's snapshot).
_MEMBER_LOCK = f"""
SELECT m.id, m.kind, m.status, m.registered_at, m.birthday,
       (SELECT r.code FROM {Region._meta.db_table} r WHERE r.id = m.region_id),
       (SELECT r.federal_district FROM {Region._meta.db_table} r WHERE r.id = m.region_id), {CITY}
FROM {Member._meta.db_table} m WHERE m.id = %s
"""
# The member's labels (tags, flags, tier) are not read here: after a wait for the lock, this statement's snapshot is
# still the one from before the wait, so it would miss a tier that the payment it waited for raised.


@dataclass(frozen=True)
class LockPlan:
    """What a write locks: the member and, per budgeted campaign id, its member's shard (False) or every shard."""

    member_id: int
    budgets: dict[int, bool] = field(default_factory=dict)

    def every_shard_of(self, campaign_id: int) -> "LockPlan":
        return LockPlan(self.member_id, {**self.budgets, campaign_id: True})


class PlanTooNarrow(Exception):
    """The decision under the locks needs a wider plan; the attempt is rolled back and run again with it."""

    def __init__(self, plan: LockPlan):
        super().__init__(plan)
        self.plan = plan


def plan_for(
    member_id: int,
    campaigns: Iterable[LiveCampaign],
    *,
    scenario: str,
    lines: Sequence[PurchaseLine] = (),
    event_type: str | None = None,
) -> LockPlan:
    """The locks for earning under `scenario`: the budgets (with points left) of the campaigns that may apply."""
    wanted = {
        campaign.campaign_id: False
        for campaign in campaigns
        if campaign.campaign_id is not None and campaign.budget_left is not None and campaign.budget_left > 0
        and may_apply(campaign, scenario=scenario, lines=lines, event_type=event_type)
    }
    return LockPlan(member_id, dict(sorted(wanted.items())))


@dataclass
class PointsLocks:
    """The locks a write holds, and the budget shards it may take from."""

    plan: LockPlan
    shards: dict[int, list[budgets.Shard]]
    member: MemberRow | None = None  # the member's row as read under its lock (None: no such member)

    @property
    def member_id(self) -> int:
        return self.plan.member_id

    def live(self, campaigns: list[LiveCampaign]) -> list[LiveCampaign]:
        """The campaigns as seen under these locks: a locked budget has what its locked shards hold; a budget the
        plan did not lock (it had nothing left, or cannot apply) grants nothing."""
        return [
            campaign if campaign.budget_left is None else dataclasses.replace(
                campaign, budget_left=sum(s.points_left for s in self._locked_shards(campaign))
            )
            for campaign in campaigns
        ]

    def _locked_shards(self, campaign: LiveCampaign) -> list[budgets.Shard]:
        """The shards of the campaign's budget these locks hold (none for a campaign not read from its row)."""
        return [] if campaign.campaign_id is None else self.shards.get(campaign.campaign_id, [])

    def check(self, decisions: list[Decision]) -> None:
        """PlanTooNarrow when a decision was cut by the member's shard where the whole budget may hold more."""
        for decision in decisions:
            campaign = decision.campaign
            if (campaign.budget_left is None or campaign.campaign_id is None
                    or self.plan.budgets.get(campaign.campaign_id, True)):
                continue
            wanted = decision.desired if campaign.limit_left is None else min(decision.desired,
                                                                              max(campaign.limit_left, 0))
            if wanted > decision.granted:
                raise PlanTooNarrow(self.plan.every_shard_of(campaign.campaign_id))

    def take(self, points: dict[int, int]) -> None:
        """Takes {campaign id: points} from the locked budgets."""
        budgets.take([(self.shards[campaign_id], n) for campaign_id, n in points.items()])

    def give(self, campaign_id: int, points: int) -> None:
        budgets.give(self.shards[campaign_id], points)


def lock_points(plan: LockPlan) -> PointsLocks:
    """Takes the plan's budget shards, then the member's row; call inside the transaction that writes."""
    shards = budgets.lock(plan.budgets, plan.member_id)
    lock = " FOR NO KEY UPDATE OF m" if connection.vendor == "postgresql" else ""
    found = sql.rows(_MEMBER_LOCK + lock, [plan.member_id])
    return PointsLocks(plan, shards, member_row(found[0]) if found else None)


def with_points_locks(
    plan: LockPlan, work: Callable[[PointsLocks, Any], T], *, first: Callable[[], Any] | None = None
) -> T:
    """Runs `work(locks, head)` in a transaction (a savepoint inside another) that calls `first()` — which locks the
    request's own row and returns `head` — then takes the plan's locks. A PlanTooNarrow from `work` rolls the
    attempt back and runs it again with the wider plan."""
    while True:
        try:
            with transaction.atomic():
                head = first() if first is not None else None
                return work(lock_points(plan), head)
        except PlanTooNarrow as narrow:
            if narrow.plan == plan:
                raise
            plan = narrow.plan


def with_planned_points_locks(
    first: Callable[[], Any], plan_of: Callable[[Any], LockPlan | None], work: Callable[[PointsLocks | None, Any], T]
) -> T:
    """As `with_points_locks`, with the plan made under the request's own lock: `first()` locks that row and
    returns `head`, `plan_of(head)` plans from it (None: no points locks, `work(None, head)`). A wider plan that a
    PlanTooNarrow asked for is kept, with whatever the next attempt's `plan_of` adds to it."""
    wider: LockPlan | None = None
    plan: LockPlan | None = None
    while True:
        try:
            with transaction.atomic():
                head = first()
                plan = plan_of(head)
                if plan is None:
                    return work(None, head)
                if wider is not None:
                    plan = _union(plan, wider)
                return work(lock_points(plan), head)
        except PlanTooNarrow as narrow:
            if narrow.plan == plan:
                raise
            wider = narrow.plan


def _union(plan: LockPlan, other: LockPlan) -> LockPlan:
    """The budgets of both plans, every shard where either takes every shard, by campaign id."""
    ids = sorted(set(plan.budgets) | set(other.budgets))
    return LockPlan(plan.member_id, {pk: plan.budgets.get(pk, False) or other.budgets.get(pk, False) for pk in ids})
