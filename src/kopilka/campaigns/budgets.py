"""Campaign budgets, exact under concurrency without one row that every grant of the programme must lock.

A budget is kept as SHARDS rows (`BudgetShard`) whose `points_left` sum to what the budget has left; a database
check keeps each at zero or more, so the budget is never exceeded. A member's grants take from the member's own
shard (member id mod SHARDS) while it holds enough; a grant that needs more locks every shard of the campaign and
takes from the member's shard first, then from the others by number. Points given back go to the member's shard.
A new budget, or a budget resized by a marketer, is spread evenly over the shards under the locks of all of them.

Shards are locked in (campaign id, number) order: the first step of the programme's lock order (`locking`).
"""

from dataclasses import dataclass

from django.db import connection
from django.db.models import Sum
from django.utils.translation import gettext_lazy as _

from kopilka.campaigns.models import BudgetShard, Campaign
from kopilka.core import sql
from kopilka.core.errors import ValidationFailed

SHARDS = 8
_TABLE = BudgetShard._meta.db_table


@dataclass
class Shard:
    id: int
    campaign_id: int
    number: int
    points_left: int


def shard_of(member_id: int) -> int:
    return member_id % SHARDS


def spread(points: int) -> list[int]:
    """`points` over SHARDS shards as evenly as whole points go (the first shards take the remainder)."""
    return [points // SHARDS + (number < points % SHARDS) for number in range(SHARDS)]


def left_of(campaign: Campaign) -> int | None:
    """What the campaign's budget has left (None without a budget)."""
    if campaign.budget_points is None:
        return None
    return campaign.budget_shards.aggregate(left=Sum("points_left"))["left"] or 0


def resize(campaign: Campaign, points: int | None, *, before: int | None) -> None:
    """Sets the budget of a saved campaign, whose row the caller has locked, from `before` to `points` (None: no
    budget). What was granted under the old budget stays granted: a budget below it is refused."""
    if points is None:
        BudgetShard.objects.filter(campaign=campaign).delete()
        return
    shards = list(BudgetShard.objects.select_for_update(no_key=True).filter(campaign=campaign).order_by("number"))
    spent = (before or 0) - sum(shard.points_left for shard in shards) if shards else 0
    if points < max(spent, 1):
        raise ValidationFailed(
            _("The budget must be positive and not below what was already granted."),
            details={"field": "budget_points", "spent": spent},
        )
    BudgetShard.objects.filter(campaign=campaign).delete()
    BudgetShard.objects.bulk_create(
        BudgetShard(campaign=campaign, number=number, points_left=left)
        for number, left in enumerate(spread(points - spent))
    )


def lock(wanted: dict[int, bool], member_id: int) -> dict[int, list[Shard]]:
    """Locks, in (campaign id, number) order, the member's shard of each wanted campaign — or every shard of it where
    `wanted[campaign id]` is True — and returns them by campaign, the member's shard first."""
    if not wanted:
        return {}
    mine = shard_of(member_id)
    where = " OR ".join(
        "campaign_id = %s" if every else "(campaign_id = %s AND number = %s)" for every in wanted.values()
    )
    params = [value for campaign_id, every in wanted.items() for value in ((campaign_id,) if every else
                                                                            (campaign_id, mine))]
    query = f"SELECT id, campaign_id, number, points_left FROM {_TABLE} WHERE {where} ORDER BY campaign_id, number"
    if connection.vendor == "postgresql":
        query += " FOR NO KEY UPDATE"
    locked: dict[int, list[Shard]] = {campaign_id: [] for campaign_id in wanted}
    for row in sql.rows(query, params):
        locked[row[1]].append(Shard(*row))
    for shards in locked.values():
        shards.sort(key=lambda shard: (shard.number != mine, shard.number))
    return locked


def take(wanted: list[tuple[list[Shard], int]]) -> None:
    """Takes, for each (locked shards of a campaign, points), the points from the shards in their order (the
    member's first), all in one statement; the caller checked they hold enough."""
    deltas = []
    for shards, points in wanted:
        for shard in shards:
            part = min(shard.points_left, points)
            if part:
                deltas.append((shard, -part))
                points -= part
        if points:
            raise ValueError("the locked shards do not hold the points to take")
    _apply(deltas)


def give(shards: list[Shard], points: int) -> None:
    """Gives `points` back into the first locked shard (the member's)."""
    _apply([(shards[0], points)])


def _apply(deltas: list[tuple[Shard, int]]) -> None:
    if not deltas:
        return
    cases = " ".join("WHEN %s THEN %s" for _ in deltas)
    params = [value for shard, delta in deltas for value in (shard.id, delta)]
    ids = [shard.id for shard, _ in deltas]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_TABLE} SET points_left = points_left + CASE id {cases} END "
            f"WHERE id IN ({sql.placeholders(ids)})",
            params + ids,
        )
    for shard, delta in deltas:
        shard.points_left += delta
