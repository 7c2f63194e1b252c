"""The programme the HTTP benchmarks run against: a catalogue of 20 products in 6 groups and 10 live campaigns
(conditions, product groups, coefficients, caps), 3 of them with a budget; members with lots from those
campaigns.

Call after `django.setup()`. The budgeted campaigns (c0, c3, c6) earn on every product on payment, so every
paid order of a member who meets their conditions takes from their budgets; c3 asks for the tag "doctor" and
fewer than 8 earlier orders.
"""

from datetime import datetime, timedelta

GROUPS = ["fillers", "biorev", "meso", "peels", "care", "consumables"]
SKUS = [f"SKU-{n:02d}" for n in range(20)]
BUDGETED = ("c0", "c3", "c6")


def price(n: int) -> str:
    """The price of SKUS[n] in roubles."""
    return str(500 + 350 * n)


def build_programme(budget_points: int) -> datetime:
    """Migrations, the catalogue, the tag "doctor" and the 10 campaigns, active since the returned moment; the
    budgeted ones start with `budget_points` each."""
    from django.core.management import call_command

    from kopilka.campaigns import services as campaigns
    from kopilka.catalog import services as catalog
    from kopilka.core import clock
    from kopilka.customers.models import Tag

    call_command("migrate", verbosity=0)
    for code in GROUPS:
        catalog.upsert_group(code=code, name=code.title())
    catalog.upsert_products(
        {"sku": sku, "name": sku, "price": price(n), "group": GROUPS[n % len(GROUPS)]}
        for n, sku in enumerate(SKUS)
    )
    Tag.objects.create(code="doctor", name="Врач")
    start = clock.now() - timedelta(days=200)
    for n in range(10):
        groups = [GROUPS[n % len(GROUPS)], GROUPS[(n + 2) % len(GROUPS)]]
        rules = {
            "accrual": {"reward": "percent", "percent": str(2 + n % 4),
                        "include_groups": groups if n % 3 else []},
            "redemption": {"groups": groups if n % 2 else [], "coefficient": ["1", "1.5", "2"][n % 3],
                           "line_cap_percent": "50" if n % 4 == 0 else None},
            "expiry": {"kind": "days", "days": 365},
        }
        if n % 2:
            rules["conditions"] = {"type": "all", "of": [
                {"type": "tags", "tags": ["doctor"]}, {"type": "orders", "op": "lt", "value": 5 + n},
            ]}
        code = f"c{n}"
        campaigns.create_campaign(code=code, name=f"Campaign {n}", type="promo" if n % 2 else "base",
                                  starts_at=start, actor="bench", rules=rules, priority=100 + n,
                                  budget_points=budget_points if code in BUDGETED else None)
        campaigns.change_status(code=code, action="activate", actor="bench")
    return start


def set_budgets(points: int | None) -> None:
    """Sets the budget of each budgeted campaign to `points` (what a budget already granted stays granted;
    from no budget, a fresh one), or takes their budgets away (None)."""
    from kopilka.campaigns import services as campaigns

    for code in BUDGETED:
        campaigns.update_campaign(code=code, actor="bench", budget_points=points)


def budgets_left() -> dict[str, int | None]:
    """What each budgeted campaign's budget has left (None: it has no budget now)."""
    from kopilka.campaigns import budgets
    from kopilka.campaigns.models import Campaign

    return {c.code: budgets.left_of(c) for c in Campaign.objects.filter(code__in=BUDGETED).order_by("code")}


def add_members(count: int, lots: int, points: int, since: datetime, prefix: str = "m") -> list[int]:
    """`count` members tagged "doctor", each with `lots` lots of `points` points accrued by the 10 campaigns
    in turn (their spending rules apply) over the days after `since`."""
    from kopilka.customers import services as members
    from kopilka.ledger import services as ledger

    ids = []
    for i in range(count):
        member = members.create_member(actor="bench", last_name=f"Нагрузочная {prefix}{i}", tags=["doctor"],
                                       region_code="54", registered_at=since)
        for n in range(lots):
            ledger.accrue(member_id=member.pk, points=points + 37 * n, actor="bench",
                          idempotency_key=f"{prefix}{i}-lot-{n}", category="promo" if n % 2 else "base",
                          source=ledger.Source("campaign", f"c{n % 10}:v1"), at=since + timedelta(days=n))
        ids.append(member.pk)
    return ids


def issue_token(scopes: list[str]) -> str:
    from kopilka.core.models import ApiKey

    _, token = ApiKey.issue("bench", scopes)
    return token
