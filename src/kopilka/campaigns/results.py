"""What a campaign achieved in a period (SPEC §3, the marketer's Monday question): who earned, what its rules wanted
and what they granted, where the granted points went, and what the purchases that earned brought in.

A period is whole programme days (the programme's time zone), both ends included; either end may be left open
(from the first grant, up to now). The figures follow the lots the campaign's versions granted in the period — a
lot of source kind "campaign" whose reference is the version, "<code>:v<number>", accrued in the period:

- members: the members who earned at least one lot; grants: the lots;
- desired: what the rules wanted for those grants, kept by `granting.grant` in each accrual entry's details
  ({"desired": N}); granted: what the lots received. Desired less granted is what the budget and the per-member
  limits cut. Grants booked before desired points were kept count as desired = granted (`without_desired` says
  how many). A decision cut to nothing books no grant, so it is not counted;
- where the granted points went, as of now: spent (spends less what returns of spends gave back), burned (expiry
  and lots burned by hand), taken back (returns of the purchase, corrections by hand, debts settled from the lot)
  and outstanding (what the lots hold now, held points included). Always granted = spent + burned + taken back +
  outstanding: a lot's remainder is the sum of its entries and allocations (`ledger.models`);
- receipts and revenue: the purchases whose grants are among these (through the order's points, `OrderPoints`)
  and that still count (paid, shipped or completed), each once, revenue the sum of their totals as the KPIs count
  it. Grants for events have no purchase: they count in members and points only.

The budget is not of a period: what the campaign's budget has granted (less what returns gave back) and has left,
now.

Every figure is one set-based statement over the lots of the campaign's versions in the period (an index of the
ledger finds them: `lot_campaign`), grouped by version, by day or not at all; `summaries` gives the list of
campaigns its columns in one statement for all of them. `Figures` is what both show; the members exposed against
those a promo campaign held out are `holdout_results`.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import connection

from kopilka.campaigns.models import BudgetShard, Campaign, CampaignVersion
from kopilka.core import clock, sql
from kopilka.ledger.models import Allocation, Entry, Lot
from kopilka.orders.models import COUNTED_STATUSES, Order, OrderPoints

KOPECK = Decimal("0.01")
# The kinds of entries that move points out of (or back into) a lot, by where the points went.
SPENT = (Entry.Kind.SPEND, Entry.Kind.RESTORE)
BURNED = (Entry.Kind.EXPIRY,)
TAKEN_BACK = (Entry.Kind.REVERSAL, Entry.Kind.ADJUSTMENT, Entry.Kind.SETTLEMENT)

_LOT, _ENTRY, _ALLOCATION = Lot._meta.db_table, Entry._meta.db_table, Allocation._meta.db_table
_ORDER, _ORDER_POINTS = Order._meta.db_table, OrderPoints._meta.db_table
_CAMPAIGN, _VERSION, _SHARD = Campaign._meta.db_table, CampaignVersion._meta.db_table, BudgetShard._meta.db_table


@dataclass(frozen=True)
class Period:
    """Whole programme days from `start` to `end`, both included; None leaves that end open."""

    start: date | None = None
    end: date | None = None

    def params(self) -> dict:
        return {"since": None if self.start is None else sql.at(clock.start_of_day(self.start)),
                "until": None if self.end is None else sql.at(clock.end_of_day(self.end)),
                "tz": str(clock.programme_tz()), "conn_tz": connection.timezone_name}

    def condition(self, column: str) -> str:
        """SQL true for the moments of `column` within the period."""
        parts = ([f"{column} >= %(since)s"] if self.start is not None else []) + (
            [f"{column} < %(until)s"] if self.end is not None else [])
        return " AND ".join(parts) or "1 = 1"


@dataclass(frozen=True)
class Figures:
    members: int = 0
    grants: int = 0
    desired: int = 0
    granted: int = 0
    spent: int = 0
    burned: int = 0
    taken_back: int = 0
    outstanding: int = 0
    receipts: int = 0
    revenue: Decimal = Decimal("0.00")  # roubles, to the kopeck
    without_desired: int = 0  # grants booked before the desired points were kept with each grant

    @property
    def cut(self) -> int:
        """Points the rules wanted and the budget or the per-member limits did not let them grant."""
        return self.desired - self.granted


@dataclass(frozen=True)
class Version:
    reference: str  # "<code>:v<number>"
    number: int
    went_live_at: datetime | None
    figures: Figures


@dataclass(frozen=True)
class Day:
    day: date
    members: int = 0
    desired: int = 0
    granted: int = 0
    receipts: int = 0
    revenue: Decimal = Decimal("0.00")


@dataclass(frozen=True)
class Budget:
    points: int  # the budget
    used: int  # granted under it, less what returns gave back
    left: int


@dataclass(frozen=True)
class Results:
    code: str
    period: Period
    total: Figures
    versions: list[Version]
    days: list[Day]  # each day of the period (an open end: up to the first or last grant); none without grants
    budget: Budget | None  # None: the campaign has no budget


@dataclass(frozen=True)
class Summary:
    """A campaign's columns in the list of campaigns."""

    members: int = 0
    desired: int = 0
    granted: int = 0
    budget: Budget | None = None


def results(campaign: Campaign, period: Period = Period()) -> Results:
    """The campaign's figures in `period`: in total, by version of its rules and by day. Ten statements, however
    many grants, versions and days there are."""
    versions = list(CampaignVersion.objects.filter(campaign=campaign).order_by("number")
                    .values_list("number", "went_live_at"))
    references = [f"{campaign.code}:v{number}" for number, _ in versions]
    by_version = _figures(references, period, "l.source_ref")
    total = _figures(references, period, None).get(None, Figures())
    return Results(
        code=campaign.code, period=period, total=total,
        versions=[Version(reference, number, went_live_at, by_version.get(reference, Figures()))
                  for reference, (number, went_live_at) in zip(references, versions, strict=True)],
        days=_days(references, period),
        budget=_budget(campaign.budget_points, _left(campaign)),
    )


def summaries(period: Period = Period()) -> dict[int, Summary]:
    """Every campaign's members who earned, points desired and granted in `period`, and its budget now, by the
    campaign's id: one statement for all campaigns."""
    params = period.params()
    statement = f"""
        SELECT c.id, c.budget_points, (SELECT SUM(s.points_left) FROM {_SHARD} s WHERE s.campaign_id = c.id),
               g.members, g.desired, g.granted
        FROM {_CAMPAIGN} c LEFT JOIN (
            SELECT v.campaign_id, COUNT(DISTINCT l.account_id) AS members,
                   SUM(COALESCE({_desired("e")}, l.amount)) AS desired, SUM(l.amount) AS granted
            FROM {_VERSION} v
            JOIN {_CAMPAIGN} vc ON vc.id = v.campaign_id
            JOIN {_LOT} l ON l.source_kind = 'campaign' AND l.source_ref = vc.code || ':v' || CAST(v.number AS TEXT)
            JOIN {_ENTRY} e ON e.lot_id = l.id AND e.kind = 'accrual'
            WHERE {period.condition("l.accrued_at")}
            GROUP BY v.campaign_id
        ) g ON g.campaign_id = c.id"""
    return {
        pk: Summary(int(members or 0), int(desired or 0), int(granted or 0), _budget(budget, left))
        for pk, budget, left, members, desired, granted in sql.rows(statement, params)
    }


def _left(campaign: Campaign) -> int | None:
    if campaign.budget_points is None:
        return None
    return sum(BudgetShard.objects.filter(campaign=campaign).values_list("points_left", flat=True))


def _budget(points: int | None, left: int | None) -> Budget | None:
    if points is None:
        return None
    left = int(left or 0)
    return Budget(int(points), int(points) - left, left)


def _desired(entry: str) -> str:
    """SQL for the desired points an accrual entry keeps in its details (NULL when it keeps none)."""
    if connection.vendor == "postgresql":
        return f"CAST({entry}.details ->> 'desired' AS BIGINT)"
    return f"CAST(json_extract({entry}.details, '$.desired') AS INTEGER)"


def _cohort(references: list[str], period: Period) -> tuple[str, dict]:
    """SQL true for the lots (alias l) the versions granted in the period, and its parameters. The source kind is
    written out, so that the partial index `lot_campaign` serves it."""
    names = {f"r{index}": reference for index, reference in enumerate(references)}
    listed = ", ".join(f"%({name})s" for name in names) or "NULL"
    condition = (f"l.source_kind = 'campaign' AND l.source_ref IN ({listed})"
                 f" AND {period.condition('l.accrued_at')}")
    return condition, {**period.params(), **names}


def _figures(references: list[str], period: Period, key: str | None) -> dict:
    """Figures by `key` (SQL over the lot l, e.g. its version) or, with None, in total (under the key None)."""
    cohort, params = _cohort(references, period)
    chosen = key or "NULL"
    grouped = f"GROUP BY {key}" if key else ""
    lots = sql.rows(f"""
        SELECT {chosen}, COUNT(*), COUNT(DISTINCT l.account_id), COALESCE(SUM(l.amount), 0),
               COALESCE(SUM(COALESCE({_desired("e")}, l.amount)), 0), COALESCE(SUM(l.remaining), 0),
               COALESCE(SUM(CASE WHEN {_desired("e")} IS NULL THEN 1 ELSE 0 END), 0)
        FROM {_LOT} l JOIN {_ENTRY} e ON e.lot_id = l.id AND e.kind = 'accrual'
        WHERE {cohort} {grouped}""", params)
    moved = sql.rows(f"""
        SELECT {chosen}, e.kind, COALESCE(SUM(e.amount), 0)
        FROM {_LOT} l JOIN {_ENTRY} e ON e.lot_id = l.id AND e.kind <> 'accrual'
        WHERE {cohort} GROUP BY {key + ", " if key else ""}e.kind
        UNION ALL
        SELECT {chosen}, e.kind, COALESCE(SUM(a.amount), 0)
        FROM {_LOT} l JOIN {_ALLOCATION} a ON a.lot_id = l.id JOIN {_ENTRY} e ON e.id = a.entry_id
        WHERE {cohort} GROUP BY {key + ", " if key else ""}e.kind""", params)
    movements: dict = {}
    for group, kind, amount in moved:
        movements.setdefault(group, {}).setdefault(kind, 0)
        movements[group][kind] += int(amount)
    sales = _sales(cohort, params, "earned.ref" if key else None)
    found = {}
    for group, grants, members, granted, desired, outstanding, without in lots:
        if not grants:
            continue
        went = movements.get(group, {})
        receipts, revenue = sales.get(group, (0, Decimal("0.00")))
        found[group] = Figures(
            members=int(members), grants=int(grants), desired=int(desired), granted=int(granted),
            spent=-sum(went.get(kind, 0) for kind in SPENT), burned=-sum(went.get(kind, 0) for kind in BURNED),
            taken_back=-sum(went.get(kind, 0) for kind in TAKEN_BACK), outstanding=int(outstanding),
            receipts=receipts, revenue=revenue, without_desired=int(without),
        )
    return found


def _earned(cohort: str) -> str:
    """SQL of the orders whose grants are among the cohort's lots: per order (and version, as ref) the first moment
    it earned (first_at)."""
    return f"""
        SELECT op.order_id, l.source_ref AS ref, MIN(l.accrued_at) AS first_at
        FROM {_LOT} l JOIN {_ENTRY} e ON e.lot_id = l.id AND e.kind = 'accrual'
        JOIN {_ORDER_POINTS} op ON op.entry_id = e.id AND op.kind = 'earn'
        WHERE {cohort} GROUP BY op.order_id, l.source_ref"""


def _sales(cohort: str, params: dict, key: str | None) -> dict:
    """(receipts, revenue) of the counted orders that earned, each order once, by `key` (SQL over earned: its ref,
    or the programme day it first earned) or, with None, in total."""
    counted = ", ".join(f"'{status}'" for status in COUNTED_STATUSES)
    if key is None or key == "earned.ref":
        earned = _earned(cohort)
    else:  # an order earning under two versions counts once: on the first day it earned
        earned = f"SELECT order_id, NULL AS ref, MIN(first_at) AS first_at FROM ({_earned(cohort)}) v GROUP BY order_id"
    if key is None:
        earned = f"SELECT DISTINCT order_id, NULL AS ref, NULL AS first_at FROM ({earned}) v"
    chosen = key or "NULL"
    rows = sql.rows(f"""
        SELECT {chosen}, COUNT(*), {sql.exact_sum("o.total", sql.KOPECKS)}
        FROM ({earned}) earned JOIN {_ORDER} o ON o.id = earned.order_id
        WHERE o.status IN ({counted}) {f"GROUP BY {key}" if key else ""}""", params)
    return {group: (int(receipts), (Decimal(int(kopecks)) / 100).quantize(KOPECK))
            for group, receipts, kopecks in rows if receipts}


def _days(references: list[str], period: Period) -> list[Day]:
    cohort, params = _cohort(references, period)
    day = sql.local_day("l.accrued_at")
    lots = sql.rows(f"""
        SELECT {day}, COUNT(DISTINCT l.account_id), COALESCE(SUM(COALESCE({_desired("e")}, l.amount)), 0),
               COALESCE(SUM(l.amount), 0)
        FROM {_LOT} l JOIN {_ENTRY} e ON e.lot_id = l.id AND e.kind = 'accrual'
        WHERE {cohort} GROUP BY {day}""", params)
    sales = _sales(cohort, params, sql.local_day("earned.first_at"))
    found: dict[date, Day] = {}
    for when, members, desired, granted in lots:
        found[sql.day(when)] = Day(sql.day(when), int(members), int(desired), int(granted))
    for when, (receipts, revenue) in sales.items():
        earlier = found.get(sql.day(when), Day(sql.day(when)))
        found[earlier.day] = Day(earlier.day, earlier.members, earlier.desired, earlier.granted, receipts, revenue)
    if not found:
        return []
    first = period.start or min(found)
    last = period.end or max(found)
    first, last = min(first, min(found)), max(last, max(found))
    return [found.get(first + timedelta(days=n), Day(first + timedelta(days=n)))
            for n in range((last - first).days + 1)]

