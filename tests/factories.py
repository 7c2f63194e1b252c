"""The builders tests share: members, live campaigns, points, catalogue products and stored orders, each made the
way the platform makes them (through its services), with defaults that read well in a story."""

import itertools
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal

from kopilka.campaigns import services as campaigns
from kopilka.campaigns.models import Campaign
from kopilka.catalog import services as catalog
from kopilka.core import clock
from kopilka.customers import services as members
from kopilka.customers.models import Member
from kopilka.ledger import services as ledger
from kopilka.ledger.models import Entry
from kopilka.orders.models import Order, OrderLine

_numbers = itertools.count(1)


def member(last_name: str = "Иванова", **fields) -> Member:
    return members.create_member(actor="t", last_name=last_name, **fields)


def live_campaign(code: str, rules: dict, *, since: datetime | timedelta = timedelta(days=60), type: str = "base",
                  budget: int | None = None, **fields) -> Campaign:
    """A campaign active since `since` (a moment, or that long ago), its activation recorded then — so receipts
    dated back to then earn under it."""
    starts_at = clock.now() - since if isinstance(since, timedelta) else since
    campaigns.create_campaign(code=code, name=fields.pop("name", code), type=type, starts_at=starts_at, actor="t",
                              rules=rules, budget_points=budget, **fields)
    return campaigns.change_status(code=code, action="activate", actor="t", now=starts_at)


def gift(member_id: int, points: int, *, days_ago: int = 0, category: str = "compensation",
         key: str | None = None, **fields) -> Entry:
    """Points given by hand (a goodwill compensation), accrued `days_ago`."""
    return ledger.accrue(member_id=member_id, points=points, actor="t", category=category, reason_code="goodwill",
                         idempotency_key=key or f"gift-{next(_numbers)}", at=clock.now() - timedelta(days=days_ago),
                         **fields)


def products(groups: Iterable[tuple[str, str]], items: list[dict]) -> None:
    """Product groups [(code, name)] and products [{"sku", "name", "price", "group", ...}]."""
    for code, name in groups:
        catalog.upsert_group(code=code, name=name)
    catalog.upsert_products(items)


def stored_order(who: Member | None, purchased_at: datetime, total: str | Decimal, *,
                 lines: Iterable[tuple[str, str, str, str]] = (), status: str = Order.Status.COMPLETED,
                 source: str = "pos") -> Order:
    """A receipt written straight into the store (no points), as a history import leaves it; `lines` are
    (sku, quantity, amount, returned quantity), and the order keeps its items (quantities less returned ones) as
    the order flow does."""
    lines = list(lines)
    made = Order.objects.create(member=who, source=source, external_id=f"o-{next(_numbers)}",
                                purchased_at=purchased_at, total=Decimal(total), status=status,
                                items=sum((Decimal(q) - Decimal(r) for _, q, _, r in lines), Decimal(0)))
    for number, (sku, quantity, amount, returned) in enumerate(lines, start=1):
        OrderLine.objects.create(order=made, line_no=number, sku=sku, quantity=Decimal(quantity),
                                 price=Decimal(amount) / Decimal(quantity), amount=Decimal(amount),
                                 returned_quantity=Decimal(returned))
    return made
