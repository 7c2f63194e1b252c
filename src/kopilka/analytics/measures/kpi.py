"""The programme's KPIs for a scope (SPEC §7.1), each with its definition as the dashboard shows it.

Purchases, receipts and revenue come from counted orders (paid, shipped, completed); a purchase is a programme day
with a member's receipt. Points come from the ledger's entries effective in the period. Member filters narrow the
members' figures; the figures of non-members (receipts without a member) are never narrowed.
"""

from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial

from django.utils.translation import gettext_lazy as _

from kopilka.analytics.data.facts import MemberFacts, member_facts, number_of
from kopilka.analytics.data.scope import Scope, counted, kopecks_sum, roubles, share, thousandths_sum
from kopilka.analytics.data.together import run_together
from kopilka.analytics.presentation.tables import COUNT, MONEY, NUMBER, SHARE, Column, Table
from kopilka.core import programme, sql
from kopilka.ledger.models import Entry

# unit of a KPI's value, how the page formats it: the kinds of a table's columns, and points
POINTS = "points"


@dataclass(frozen=True)
class Kpi:
    code: str
    label: object
    value: int | float | Decimal | None  # None: not defined for this scope (a share of nothing)
    unit: str
    definition: object


@dataclass
class KpiSet:
    scope: Scope
    kpis: list[Kpi]
    facts: MemberFacts | None = None  # what the member figures were computed from
    new_members_by_source: dict[str, int] = field(default_factory=dict)
    members_vs_non_members: list[list] = field(default_factory=list)

    def __getitem__(self, code: str) -> Kpi:
        return next(kpi for kpi in self.kpis if kpi.code == code)

    def table(self) -> Table:
        columns = [Column("code", _("code")), Column("kpi", _("KPI"), True), Column("value", _("value")),
                   Column("unit", _("unit")), Column("definition", _("definition"), True)]
        rows = [[k.code, str(k.label), k.value, k.unit, str(k.definition)] for k in self.kpis]
        return Table("kpi", _("KPIs"), columns, rows)

    def sources_table(self) -> Table:
        columns = [Column("source", _("registration source")),
                   Column("new_members", _("new members"), kind=COUNT)]
        return Table("new-members-by-source", _("New members by registration source"), columns,
                     [[source or "—", count] for source, count in self.new_members_by_source.items()])

    def comparison_table(self) -> Table:
        columns = [Column("who", _("code")), Column("name", _("buyers"), True),
                   Column("receipts", _("receipts"), kind=COUNT),
                   Column("revenue", _("revenue"), kind=MONEY),
                   Column("average_receipt", _("average receipt"), kind=MONEY),
                   Column("share_of_sales", _("share of sales"), kind=SHARE)]
        return Table("members-vs-non-members", _("Members and non-members"), columns, self.members_vs_non_members)


def _moneyshare(part_kopecks, count) -> Decimal | None:
    return roubles(int(part_kopecks) // int(count)) if count else None


def _sales(scope: Scope) -> dict[str, tuple[int, int, int, int, int]]:
    """"members" (kept by the filters), "others" (members they leave out), "non_members" → (receipts, revenue,
    discount paid with points, receipts with points spent, items kept in thousandths) of the counted orders in the
    period; money in kopecks."""
    if scope.filters:
        who, join = f"""CASE WHEN o.member_id IS NULL THEN 'non_members' WHEN {scope.member_condition("m")}
                            THEN 'members' ELSE 'others' END""", "LEFT JOIN customers_member m ON m.id = o.member_id"
    else:
        who, join = "CASE WHEN o.member_id IS NULL THEN 'non_members' ELSE 'members' END", ""
    statement = f"""
        SELECT {who}, COUNT(*), {kopecks_sum("o.total")}, {kopecks_sum("o.discount")},
               SUM(CASE WHEN o.points_spent > 0 THEN 1 ELSE 0 END), {thousandths_sum("o.items")}
        FROM orders_order o {join}
        WHERE {counted()} AND o.purchased_at >= %(since)s AND o.purchased_at < %(until)s
        GROUP BY 1"""
    found = {who: tuple(int(x) for x in rest) for who, *rest in sql.rows(statement, scope.params())}
    return {who: found.get(who, (0, 0, 0, 0, 0)) for who in ("members", "others", "non_members")}


def _points(scope: Scope) -> dict[str, int]:
    """Entry kind → net points effective in the period ("credit": positive adjustments), "after" → the net change
    after it. Accrued, spent and burned follow the ledger's utilization (flow basis, SPEC §2.10)."""
    join = ("JOIN ledger_account a ON a.id = e.account_id JOIN customers_member m ON m.id = a.member_id"
            if scope.filters else "")
    statement = f"""
        SELECT CASE WHEN e.effective_at >= %(until)s THEN 'after'
                    WHEN e.kind = 'adjustment' AND e.amount > 0 THEN 'credit' ELSE e.kind END, SUM(e.amount)
        FROM ledger_entry e {join}
        WHERE e.effective_at >= %(since)s {"AND " + scope.member_condition("m") if scope.filters else ""}
        GROUP BY 1"""
    return {kind: int(amount) for kind, amount in sql.rows(statement, scope.params())}


def _balances(scope: Scope) -> int:
    statement = f"""SELECT COALESCE(SUM(a.balance), 0)
                    FROM ledger_account a JOIN customers_member m ON m.id = a.member_id
                    WHERE {scope.member_condition("m")}"""
    return int(sql.rows(statement, scope.params())[0][0])


def _members(scope: Scope) -> tuple[int, dict[str, int]]:
    """(members registered by the end and not erased, new members in the period by registration source)."""
    statement = f"""
        SELECT m.registration_source,
               SUM(CASE WHEN m.registered_at < %(until)s THEN 1 ELSE 0 END),
               SUM(CASE WHEN m.registered_at >= %(since)s AND m.registered_at < %(until)s THEN 1 ELSE 0 END)
        FROM customers_member m WHERE m.status <> 'deleted' AND {scope.member_condition("m")}
        GROUP BY 1 ORDER BY 3 DESC, 1"""
    rows = sql.rows(statement, scope.params())
    return sum(int(r[1]) for r in rows), {source: int(new) for source, _all, new in rows if new}


def compute(scope: Scope, facts: MemberFacts | None = None) -> KpiSet:
    """The KPI set; `facts` of the same scope may be passed when they are at hand (one pass serves several)."""
    reads = {"sales": _sales, "members": _members, "points": _points, "balances": _balances}
    if facts is None:
        reads["facts"] = member_facts
    found = run_together({name: partial(read, scope) for name, read in reads.items()})
    members, new_by_source = found["members"]
    return _assemble(scope, found.get("facts", facts), found["sales"], members, new_by_source, found["points"],
                     found["balances"])


def _assemble(scope, facts: MemberFacts, sales, members, new_by_source, points, balance_now) -> KpiSet:
    buyers_mask = facts.period_purchases > 0
    buyers = int(buyers_mask.sum())
    previous = facts.previous_purchases > 0
    retained = int((previous & buyers_mask).sum())
    first_in_period = int((facts.first_day >= number_of(scope.start)).sum())
    repeat = int((buyers_mask & (facts.purchases >= 2)).sum())
    receipts, revenue = int(facts.period_receipts.sum()), int(facts.period_revenue.sum())
    discount, with_points, item_thousandths = sales["members"][2:5]
    purchases = int(facts.period_purchases.sum())
    non_receipts, non_revenue = sales["non_members"][:2]
    all_revenue = sum(totals[1] for totals in sales.values())
    accrued = points.get(Entry.Kind.ACCRUAL, 0) + points.get("credit", 0) + points.get(Entry.Kind.REVERSAL, 0)
    spent = -(points.get(Entry.Kind.SPEND, 0) + points.get(Entry.Kind.RESTORE, 0))
    burned = -points.get(Entry.Kind.EXPIRY, 0)
    liability = balance_now - points.get("after", 0)
    point_value = Decimal(programme.value("POINT_VALUE"))
    items = Decimal(item_thousandths) / 1000
    k = [
        Kpi("members", _("Members"), members, COUNT,
            _("Members registered by the end of the period, erased ones left out.")),
        Kpi("new_members", _("New members"), sum(new_by_source.values()), COUNT,
            _("Members registered within the period (by registration source in the table below).")),
        Kpi("buyers", _("Members with purchases"), buyers, COUNT,
            _("Members with at least one purchase in the period.")),
        Kpi("new_buyers", _("First-time buyers"), first_in_period, COUNT,
            _("Members whose first purchase ever falls within the period.")),
        Kpi("repeat_buyers", _("Members with repeat purchases"), repeat, COUNT,
            _("Members with a purchase in the period and at least two purchases (days with a purchase) to date.")),
        Kpi("retention", _("Retention"), share(retained, previous.sum()), SHARE,
            _("Of the members who bought in the previous period of the same length, the share who bought again "
              "in this one.")),
        Kpi("churn", _("Churn"), share(previous.sum() - retained, previous.sum()), SHARE,
            _("Of the members who bought in the previous period, the share who did not buy in this one.")),
        Kpi("ltv", _("LTV to date"), _moneyshare(facts.revenue.sum(), len(facts)), MONEY,
            _("Revenue from a member since the first purchase up to the end of the period, on average over the "
              "members with purchases.")),
        Kpi("average_receipt", _("Average receipt of members"), _moneyshare(revenue, receipts), MONEY,
            _("Members' revenue in the period divided by their receipts.")),
        Kpi("average_receipt_non_members", _("Average receipt of non-members"),
            _moneyshare(non_revenue, non_receipts), MONEY,
            _("Revenue from receipts without a member divided by their number.")),
        Kpi("items_per_receipt", _("Items per receipt"), share(items, receipts, 2), NUMBER,
            _("Members' receipts in the period: items bought (less returned) per receipt.")),
        Kpi("price_per_item", _("Price per item"), (roubles(revenue * 1000 // item_thousandths)
                                                     if item_thousandths else None), MONEY,
            _("Members' revenue in the period divided by the items they bought.")),
        Kpi("purchase_frequency", _("Purchase frequency"), share(purchases, buyers, 2), NUMBER,
            _("Purchases (days with a purchase) per member with purchases in the period.")),
        Kpi("revenue_per_buyer", _("Revenue per member with purchases"), _moneyshare(revenue, buyers), MONEY,
            _("Members' revenue in the period divided by the members with purchases in it.")),
        Kpi("revenue_per_member", _("Revenue per member"), _moneyshare(revenue, members), MONEY,
            _("Members' revenue in the period divided by all members registered by its end.")),
        Kpi("accrued", _("Points accrued"), accrued, POINTS,
            _("Points accrued in the period (manual credits included) less accruals taken back (returns, reversals).")),
        Kpi("spent", _("Points spent"), spent, POINTS,
            _("Points spent in the period less spent points given back on returns.")),
        Kpi("burned", _("Points burned"), burned, POINTS, _("Points that expired in the period.")),
        Kpi("utilization_rate", _("Utilization rate (UR)"), share(spent, accrued), SHARE,
            _("Points spent divided by points accrued in the period.")),
        Kpi("limiting_ur", _("Limiting UR"), (round(1 - burned / accrued, 4) if accrued else None), SHARE,
            _("One minus points burned divided by points accrued in the period: the most that can ever be spent.")),
        Kpi("redemption_rate", _("Redemption rate"), share(with_points, receipts), SHARE,
            _("The share of members' receipts in the period paid partly with points.")),
        Kpi("real_discount", _("Real discount"), share(discount, revenue), SHARE,
            _("What points paid for divided by members' sales in the period: the discount the programme really "
              "gave.")),
        Kpi("members_share_of_sales", _("Share of sales from members"), share(revenue, all_revenue), SHARE,
            _("Members' revenue divided by all revenue (members and non-members) in the period.")),
        Kpi("liability_points", _("Outstanding points"), liability, POINTS,
            _("Points on members' balances at the end of the period: the programme's liability.")),
        Kpi("liability_money", _("Outstanding liability"), (Decimal(liability) * point_value).quantize(Decimal("0.01")),
            MONEY, _("Outstanding points times the worth of a point in the programme settings.")),
    ]
    comparison = [
        ["members", str(_("members")), receipts, roubles(revenue), _moneyshare(revenue, receipts),
         share(revenue, all_revenue)],
        ["non_members", str(_("non-members")), non_receipts, roubles(non_revenue),
         _moneyshare(non_revenue, non_receipts), share(non_revenue, all_revenue)],
    ]
    return KpiSet(scope=scope, kpis=k, new_members_by_source=new_by_source, members_vs_non_members=comparison,
                  facts=facts)
