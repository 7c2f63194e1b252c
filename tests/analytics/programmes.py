"""Programmes for the analytics tests (fixtures for every test folder, through the root conftest).

march: a small programme whose KPIs and RFM figures can be worked out by hand (programme time zone: Moscow).

March 2026 is the period; the previous period of the same length is 29 January – 28 February.
- Anna (female, born 1990-03-15, region 77, registered on the site in December): bought on 10 Feb (1,000), on
  5 Mar twice (2,000 of which 200 paid with points, and 500) and on 20 Mar (1,500; one of three items returned);
  a cancelled order on 7 Mar does not count. Points: 100 accrued on 5 Mar, 30 spent on 20 Mar, 10 on 5 Apr.
- Boris (male, born 1980-01-01, region 78, registered at a till in December): bought on 15 Feb (3,000) and not
  since; his 50 points accrued on 15 Feb expire on 7 Mar.
- Vera (female, no birthday, region 77, registered on the site on 3 Mar): her first purchase on 10 Mar (700).
- Gleb (registered at a till on 15 Mar): no purchases.
- Non-members: 400 on 12 Mar and 600 on 13 Mar.
"""

from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import count

import pytest

from kopilka.customers.models import Member, Region
from kopilka.ledger import services as ledger
from kopilka.orders.models import Order, OrderLine

MARCH = (date(2026, 3, 1), date(2026, 3, 31))
_numbers = count(1)


def at(day: str, hour: int = 9) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def buy(member, when: datetime, total: str, *, lines=(), discount="0", points=0, status=Order.Status.COMPLETED):
    """An order with its lines as the order flow writes them (items = quantities less returned ones)."""
    items = sum((Decimal(quantity) - Decimal(returned) for quantity, _amount, returned in lines), Decimal(0))
    order = Order.objects.create(member=member, source="pos", external_id=f"r-{next(_numbers)}", purchased_at=when,
                                 total=Decimal(total), discount=Decimal(discount), points_spent=points, status=status,
                                 items=items)
    for number, (quantity, amount, returned) in enumerate(lines, start=1):
        OrderLine.objects.create(order=order, line_no=number, sku=f"SKU-{number}", quantity=Decimal(quantity),
                                 price=Decimal(amount) / Decimal(quantity), amount=Decimal(amount),
                                 returned_quantity=Decimal(returned))
    return order


def person(last_name: str, registered: datetime, **fields) -> Member:
    return Member.objects.create(last_name=last_name, registered_at=registered, **fields)


@pytest.fixture
def march(db):
    moscow = Region.objects.get_or_create(code="77", defaults={"name": "Москва", "time_zone": "Europe/Moscow"})[0]
    petersburg = Region.objects.get_or_create(code="78", defaults={"name": "Санкт-Петербург",
                                                                   "time_zone": "Europe/Moscow"})[0]
    anna = person("Анна", at("2025-12-01"), gender="female", birthday=date(1990, 3, 15), region=moscow,
                  registration_source="site")
    boris = person("Борис", at("2025-12-02"), gender="male", birthday=date(1980, 1, 1), region=petersburg,
                   registration_source="pos")
    vera = person("Вера", at("2026-03-03"), gender="female", region=moscow, registration_source="site")
    gleb = person("Глеб", at("2026-03-15"), registration_source="pos")
    buy(anna, at("2026-02-10"), "1000", lines=[("1", "1000", "0")])
    buy(anna, at("2026-03-05"), "2000", lines=[("2", "2000", "0")], discount="200", points=200)
    buy(anna, at("2026-03-05", 15), "500", lines=[("1", "500", "0")])
    buy(anna, at("2026-03-07"), "9999", lines=[("1", "9999", "0")], status=Order.Status.CANCELLED)
    buy(anna, at("2026-03-20"), "1500", lines=[("3", "1500", "1")])
    buy(boris, at("2026-02-15"), "3000", lines=[("1", "3000", "0")])
    buy(vera, at("2026-03-10"), "700", lines=[("1", "700", "0")])
    buy(None, at("2026-03-12"), "400")
    buy(None, at("2026-03-13"), "600")
    ledger.accrue(member_id=anna.pk, points=100, actor="t", idempotency_key="a1", at=at("2026-03-05"))
    ledger.spend(member_id=anna.pk, points=30, actor="t", idempotency_key="s1", at=at("2026-03-20"))
    ledger.accrue(member_id=anna.pk, points=10, actor="t", idempotency_key="a2", at=at("2026-04-05"))
    ledger.accrue(member_id=boris.pk, points=50, actor="t", idempotency_key="b1", at=at("2026-02-15"),
                  expires_at=at("2026-03-07"))
    ledger.expire(as_of=at("2026-03-10"))
    return {"anna": anna, "boris": boris, "vera": vera, "gleb": gleb}


@pytest.fixture
def crowd(db):
    """80 members buying as the BG/NBD story goes (random but fixed): each buys at their own rate and may drop out
    after any purchase; their spend per purchase varies around their own mean. From 2 June 2025 to 31 March 2026."""
    import random
    from datetime import timedelta

    rng = random.Random(7)
    start = at("2025-06-02")
    for number in range(80):
        member = person(f"Участник {number}", start, gender="female" if number % 2 else "male")
        rate, dropout, spend = rng.gammavariate(0.8, 1 / 20), rng.betavariate(1, 3), rng.gammavariate(6, 400)
        day = rng.uniform(0, 60)
        while day < 302:
            buy(member, start + timedelta(days=day), str(round(spend * rng.uniform(0.6, 1.4))))
            if rng.random() < dropout:
                break
            day += rng.expovariate(rate)
    return start
