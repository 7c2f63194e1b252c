"""A small programme with members of every kind of history, for the condition tests."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import translation

from kopilka.catalog import services as catalog
from kopilka.customers import services as members
from kopilka.customers.models import EligibilityFlag, Tag
from kopilka.orders.models import Order, OrderLine

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def buy(member, days_ago: float, lines: list[tuple[str, str]], status: str = "completed") -> Order:
    """An order `days_ago` before NOW with (sku, amount) lines."""
    order = Order.objects.create(
        member=member,
        source="test",
        external_id=f"{member.pk}-{Order.objects.count()}",
        purchased_at=NOW - timedelta(days=days_ago),
        total=sum(Decimal(amount) for _, amount in lines),
        status=status,
    )
    for n, (sku, amount) in enumerate(lines, start=1):
        OrderLine.objects.create(order=order, line_no=n, sku=sku, quantity=1, price=amount, amount=amount)
    return order


@pytest.fixture
def programme(db):
    """Members: anna (doctor, Novosibirsk, buys fillers often), boris (lapsing clinic in Moscow), vera (new,
    birthday today, in Pushkin — a town of St Petersburg, not a million-plus city), gleb (lapsed, in region 54 with
    no city, leap-day birthday, only cancelled orders lately), dina (no region, no purchases, registered long
    ago)."""
    for code in ("doctor", "clinic", "vip"):
        Tag.objects.create(code=code, name=code)
    for code in ("certified-injector", "trained-peels"):
        EligibilityFlag.objects.create(code=code, name=code)
    catalog.upsert_group(code="fillers", name="Филлеры")
    catalog.upsert_group(code="ha", name="Гиалуроновые", parent="fillers")
    catalog.upsert_group(code="care", name="Уход")
    catalog.upsert_products([
        {"sku": "HA-1", "name": "Филлер", "price": "6900", "group": "ha"},
        {"sku": "CREAM", "name": "Крем", "price": "1450.50", "group": "care"},
        {"sku": "NEEDLE", "name": "Игла", "price": "300"},
    ])
    long_ago = NOW - timedelta(days=700)
    anna = members.create_member(actor="t", 
        last_name="Иванова", region_code="54", city="Новосибирск", tags=["doctor", "vip"],
        eligibility_flags=["certified-injector"],
        birthday=date(1990, 3, 5), registered_at=long_ago,
    )
    boris = members.create_member(actor="t", 
        kind="legal_entity", legal_name="ООО «Клиника»", inn="7707083893", region_code="77", city="Москва",
        tags=["clinic"], eligibility_flags=["certified-injector", "trained-peels"], registered_at=long_ago,
    )
    vera = members.create_member(actor="t",
                                 last_name="Веселова", region_code="78", city="Пушкин", tags=["doctor"],
                                 birthday=date(1995, 3, 1), registered_at=NOW - timedelta(days=10))
    gleb = members.create_member(actor="t", last_name="Глебов", region_code="54", birthday=date(1988, 2, 29),
                                 registered_at=long_ago)
    dina = members.create_member(actor="t", last_name="Данилова", registered_at=long_ago)
    buy(anna, 3, [("HA-1", "6900"), ("CREAM", "1450.50")])
    buy(anna, 40, [("HA-1", "6900")])
    buy(anna, 400, [("NEEDLE", "300")])
    buy(anna, 1, [("CREAM", "1450.50")], status="new")
    buy(boris, 120, [("CREAM", "1450.50"), ("NEEDLE", "300")], status="paid")
    buy(boris, 150, [("HA-1", "6900")], status="shipped")
    buy(vera, 2, [("CREAM", "1450.50")])
    buy(gleb, 300, [("HA-1", "6900")])
    buy(gleb, 5, [("HA-1", "6900")], status="cancelled")
    buy(gleb, 6, [("CREAM", "1450.50")], status="returned")
    return {"anna": anna, "boris": boris, "vera": vera, "gleb": gleb, "dina": dina}
