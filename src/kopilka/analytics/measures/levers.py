"""Growth levers (SPEC §7.3, the deck's «рычаги роста»): revenue = members × purchases per member × items per
receipt × price per item, and how far each lever must move for a target growth of revenue.

Definitions for the scope's days (members' counted orders — paid, shipped, completed — of members the filters keep):
- revenue: the sum of the orders' totals (as the KPIs count it: a partial return does not change a total);
- members («количество клиентов»): members with at least one such order;
- purchases per member («количество покупок»): receipts (orders) / members;
- items per receipt («глубина чека»): items / receipts, items being the orders' items — their lines' quantities
  less what was returned, kept on the order (as the KPIs' items per receipt; a receipt without lines adds a
  receipt and no items);
- price per item («цена за SKU»): revenue / items.
The product of the four levers is the revenue (exactly, to Decimal's 28 digits). Revenue is a product, so a growth
g of revenue takes a growth g of any one lever alone, or (1 + g)^(1/4) − 1 of each of the four (≈ 4.66 % for 20 %).
"""

from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from kopilka.analytics.data.scope import Scope, counted, kopecks_sum, thousandths_sum
from kopilka.analytics.presentation.tables import Column, Table
from kopilka.core import sql
from kopilka.core.errors import ValidationFailed

DEFAULT_TARGET = Decimal(20)
LEVERS = {
    "members": _("members"),
    "purchases_per_member": _("purchases per member"),
    "items_per_receipt": _("items per receipt"),
    "price_per_item": _("price per item"),
}
# Places a table shows: money in kopecks, counts and ratios finer.
_PLACES = {"revenue": Decimal("0.01"), "members": Decimal("0.01"), "purchases_per_member": Decimal("0.0001"),
           "items_per_receipt": Decimal("0.0001"), "price_per_item": Decimal("0.01")}
_PERCENT = Decimal("0.01")


@dataclass(frozen=True)
class Levers:
    scope: Scope
    revenue: Decimal  # roubles, with kopecks
    members: int
    receipts: int
    items: Decimal  # units, to thousandths
    target: Decimal  # the growth of revenue asked, in percent

    @property
    def purchases_per_member(self) -> Decimal:
        return Decimal(self.receipts) / self.members

    @property
    def items_per_receipt(self) -> Decimal:
        return self.items / self.receipts

    @property
    def price_per_item(self) -> Decimal:
        return self.revenue / self.items

    @property
    def mean_receipt(self) -> Decimal:
        """«Средний чек» = items per receipt × price per item."""
        return self.revenue / self.receipts

    def current(self) -> dict[str, Decimal]:
        """Each lever's value now, unrounded: their product is the revenue."""
        return {"members": Decimal(self.members), "purchases_per_member": self.purchases_per_member,
                "items_per_receipt": self.items_per_receipt, "price_per_item": self.price_per_item}

    @property
    def growth(self) -> Decimal:
        """1 + target: what revenue is multiplied by, and so any one lever moved alone."""
        return 1 + self.target / 100

    @property
    def even_growth(self) -> Decimal:
        """(1 + target)^(1/4): what each lever is multiplied by when all four share the growth evenly."""
        return self.growth ** (Decimal(1) / 4)

    def alone(self) -> dict[str, Decimal]:
        """Each lever's value that reaches the target when only it moves."""
        return {key: value * self.growth for key, value in self.current().items()}

    def even(self) -> dict[str, Decimal]:
        """Each lever's value when all four move by the same percentage and reach the target together."""
        return {key: value * self.even_growth for key, value in self.current().items()}

    def table(self) -> Table:
        """Revenue, then the four levers: now, moved alone and moved evenly (value and change), in percent too."""
        alone_pct = ((self.growth - 1) * 100).quantize(_PERCENT)
        even_pct = ((self.even_growth - 1) * 100).quantize(_PERCENT)
        now = {"revenue": self.revenue, **self.current()}
        alone = {"revenue": self.revenue * self.growth, **self.alone()}
        even = {"revenue": self.revenue * self.growth, **self.even()}
        rows = []
        for key, label in (("revenue", _("revenue")), *LEVERS.items()):
            places = _PLACES[key]
            rows.append([key, str(label), self.members if key == "members" else now[key].quantize(places),
                         alone[key].quantize(places), (alone[key] - now[key]).quantize(places),
                         even[key].quantize(places), (even[key] - now[key]).quantize(places),
                         alone_pct, alone_pct if key == "revenue" else even_pct])
        columns = [Column("lever", _("code")), Column("name", _("lever"), True), Column("current", _("now")),
                   Column("alone", _("moved alone")), Column("alone_change", _("change alone")),
                   Column("even", _("moved evenly")), Column("even_change", _("change evenly")),
                   Column("alone_percent", _("change alone, %")), Column("even_percent", _("change evenly, %"))]
        return Table("levers", _("Growth levers"), columns, rows)


def check_target(target: Decimal) -> None:
    if target <= -100:
        raise ValidationFailed(_("Revenue cannot fall by 100 % or more: give a target above −100 %."),
                               code="target_out_of_range", details={"target": str(target)})


def levers(scope: Scope, target: Decimal = DEFAULT_TARGET) -> Levers:
    """The four levers of the scope's revenue and their moves for `target` % growth of revenue."""
    target = Decimal(target)
    check_target(target)
    statement = f"""
        SELECT COUNT(DISTINCT o.member_id), COUNT(*), {kopecks_sum("o.total")}, {thousandths_sum("o.items")}
        FROM orders_order o JOIN customers_member m ON m.id = o.member_id
        WHERE {counted()} AND o.purchased_at >= %(since)s AND o.purchased_at < %(until)s
          AND {scope.member_condition("m")}"""
    members, receipts, revenue, thousandths = (int(value) for value in sql.rows(statement, scope.params())[0])
    if not thousandths:
        raise ValidationFailed(_("No member bought any items in the period: the levers are not defined."),
                               code="no_purchases", details={"members": members, "receipts": receipts})
    return Levers(scope, (Decimal(revenue) / 100).quantize(Decimal("0.01")), members, receipts,
                  (Decimal(thousandths) / 1000).quantize(Decimal("0.001")), target)
