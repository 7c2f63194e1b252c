"""The demo programme: its catalogue, tiers and campaigns, installed through the services a marketer's screens use.

- a tiered base programme: 3 % of what is paid, 5 % for gold (150 000 ₽ over a year), 7 % for the platinum
  subscription; spendable after the 14-day return period; burning a year later;
- the launch of a new product group (biorevitalisants): 500 points per receipt with one, spendable only on
  biorevitalisants and home care at 1.5 ₽ per point, within a budget, burning after 60 days;
- a regional campaign: doctors in Siberia with fewer than 5 orders earn another 5 %, burning at the end of
  the next month;
- a compensation campaign type for the points support grants;
- event rewards: 150 points for a review, 500 for a birthday, 300 for completing a training.
"""

from datetime import datetime
from decimal import Decimal

from kopilka.campaigns import services as campaigns
from kopilka.catalog import services as catalog
from kopilka.seed.profiles import GROUPS, PRODUCTS
from kopilka.tiers import services as tiers

ACTOR = "seed:demo"
SIBERIA = "Сибирский федеральный округ"

CAMPAIGNS = [
    {
        "code": "base", "name": "Базовая программа", "public_name": "Баллы за покупки", "type": "base",
        "priority": 100,
        "rules": {
            "accrual": {"reward": "percent", "percent": "3", "tier_percents": {"gold": "5", "platinum": "7"},
                        "pending_days": 14},
            "expiry": {"kind": "days", "days": 365},
        },
    },
    {
        "code": "biorev-launch", "name": "Запуск биоревитализантов", "public_name": "500 баллов за биоревитализант",
        "type": "promo", "priority": 200, "budget_points": 3_000_000,
        "rules": {
            "accrual": {"reward": "fixed", "points": 500, "include_groups": ["biorev"]},
            "redemption": {"groups": ["biorev", "care"], "coefficient": "1.5", "line_cap_percent": "50"},
            "expiry": {"kind": "days", "days": 60},
        },
    },
    {
        "code": "siberia-doctors", "name": "Врачи Сибири", "public_name": "+5 % врачам Сибири", "type": "promo",
        "priority": 150,
        "rules": {
            "conditions": {"type": "all", "of": [
                {"type": "tags", "tags": ["doctor"]},
                {"type": "region", "federal_districts": [SIBERIA]},
                {"type": "orders", "op": "lt", "value": 5},
            ]},
            "accrual": {"reward": "percent", "percent": "5", "member_limit": {"points": 5000, "period": "month"}},
            "expiry": {"kind": "end_of_month", "months": 1},
        },
    },
    {
        "code": "reviews", "name": "Отзывы", "public_name": "Баллы за отзыв", "type": "promo", "priority": 100,
        "rules": {
            "accrual": {"reward": "fixed", "points": 150, "scenario": "event", "event_types": ["review"],
                        "member_limit": {"points": 450, "period": "month"}},
            "expiry": {"kind": "days", "days": 90},
        },
    },
    {
        "code": "birthday", "name": "День рождения", "public_name": "Подарок ко дню рождения", "type": "promo",
        "priority": 100,
        "rules": {
            "accrual": {"reward": "fixed", "points": 500, "scenario": "event", "event_types": ["birthday"]},
            "expiry": {"kind": "end_of_month", "months": 1},
        },
    },
    {
        "code": "training", "name": "Обучение", "public_name": "Баллы за пройденное обучение", "type": "promo",
        "priority": 100,
        "rules": {
            "accrual": {"reward": "fixed", "points": 300, "scenario": "event", "event_types": ["training_completed"]},
            "expiry": {"kind": "days", "days": 180},
        },
    },
]


def install(start: datetime) -> None:
    """Catalogue, tiers and active campaigns that started at `start`."""
    for code, name, parent in GROUPS:
        catalog.upsert_group(code=code, name=name, parent=parent)
    catalog.upsert_products(
        {"sku": sku, "name": name, "price": price, "group": group} for sku, name, price, group in PRODUCTS
    )
    tiers.upsert_tier(code="silver", name="Серебряный", rank=1, basis="turnover", threshold=Decimal(0))
    tiers.upsert_tier(code="gold", name="Золотой", rank=2, basis="turnover", threshold=Decimal(150_000),
                      window_days=365, privileges="5 % баллами с каждой покупки")
    tiers.upsert_tier(code="platinum", name="Платиновый", rank=3, basis="subscription",
                      privileges="7 % баллами с каждой покупки, подписка")
    for definition in CAMPAIGNS:
        campaigns.create_campaign(starts_at=start, actor=ACTOR, **definition)
        campaigns.change_status(code=definition["code"], action="activate", actor=ACTOR, now=start)
