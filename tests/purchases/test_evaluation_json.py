"""The evaluation's answer, built as JSON directly, is byte for byte what the API's models and renderer make of it."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import translation

from kopilka.api.base import api
from kopilka.api.evaluation import evaluation_json
from kopilka.api.purchases import EvaluationOut
from kopilka.campaigns import services as campaigns
from kopilka.catalog import services as catalog
from kopilka.core import clock
from kopilka.customers import services as members
from kopilka.ledger import services as ledger
from kopilka.purchases.quote import CartItem, Quote, quote

pytestmark = pytest.mark.django_db
D = Decimal


def through_the_models(result: Quote) -> bytes:
    """The answer as the generic path renders it: validated against EvaluationOut, dumped, rendered."""
    answer = {
        "total": result.total, "points_max": result.maximum, "points": result.points, "discount": result.discount,
        "to_pay": result.total - result.discount,
        "earns": {scenario: result.earned(scenario) for scenario in result.decisions},
        "lines": [
            {"line": x.number, "sku": x.item.sku, "amount": x.item.amount, "points": x.points,
             "discount": x.discount, "to_pay": x.to_pay, "earns": x.earned}
            for x in result.lines
        ],
        "spend": [{"lot_id": d.lot_id, "line": d.line, "points": d.points, "campaign": d.pool} for d in result.draws],
        "campaigns": [
            {"campaign": d.campaign.reference, "name": d.campaign.public_name, "scenario": scenario,
             "applies": d.applied, "desired": d.desired, "points": d.granted, "by_line": d.by_line,
             "explanation": d.explain()}
            for scenario, decisions in result.decisions.items() for d in decisions
        ],
    }
    dumped = EvaluationOut.model_validate(answer).model_dump(mode="json")
    return api.renderer.render(None, dumped, response_status=200).encode()


@pytest.fixture
def member(db):
    catalog.upsert_group(code="fillers", name="Филлеры")
    catalog.upsert_group(code="care", name="Уход")
    catalog.upsert_products([
        {"sku": "HA-1", "name": "Филлер", "price": "10000", "group": "fillers"},
        {"sku": "CREAM", "name": "Крем", "price": "2000", "group": "care"},
    ])
    start = clock.now() - timedelta(days=30)
    definitions = {
        "base": ("Базовая", {"accrual": {"reward": "percent", "percent": "5"}}),
        "cream": ("Запуск «крема»", {"accrual": {"reward": "fixed", "points": 300, "include_groups": ["care"],
                                                 "scenario": "shipment"},
                                     "redemption": {"groups": ["care"], "coefficient": "1.5"}}),
        "big": ("Крупный заказ", {"accrual": {"reward": "percent", "percent": "2.5", "min_order": "15000",
                                              "multiplier": "2"},
                                  "redemption": {"line_cap_percent": "30", "receipt_cap_percent": "20"}}),
        "vip": ("Только VIP", {"conditions": {"type": "tags", "tags": ["vip"]},
                               "accrual": {"reward": "fixed", "points": 50}}),
    }
    for code, (name, rules) in definitions.items():
        campaigns.create_campaign(code=code, name=name, type="promo", starts_at=start, actor="t", rules=rules)
        campaigns.change_status(code=code, action="activate", actor="t")
    member = members.create_member(actor="t", last_name="Иванова", registered_at=start)
    for n, ref in enumerate(["base:v1", "cream:v1", "big:v1", "cream:v1", "elsewhere"]):
        ledger.accrue(member_id=member.pk, points=333 + 250 * n, actor="t", idempotency_key=f"lot-{n}",
                      category="base", source=ledger.Source("campaign", ref), at=clock.now() - timedelta(days=9 - n))
    return member


CARTS = [
    [CartItem("HA-1", D(1), D(10000), D(10000)), CartItem("CREAM", D(3), D("1999.99"), D("5999.97"))],
    [CartItem("CREAM", D("0.333"), D("2000"), D("666.00")), CartItem("UNKNOWN", D(7), D("0.15"), D("1.05"))],
    [CartItem("HA-1", D(2), D("12345.67"), D("24691.34"))],
]


@pytest.mark.parametrize("language", ["en", "ru"])
@pytest.mark.parametrize("requested", [None, 0, 1, 777, 10**6])
@pytest.mark.parametrize("cart", range(len(CARTS)))
def test_the_direct_answer_is_the_models_answer_byte_for_byte(member, language, requested, cart):
    with translation.override(language):
        result = quote(member.pk, CARTS[cart], requested=requested)
        assert evaluation_json(result) == through_the_models(result)
    if requested is None:  # the answer has something in every part
        assert result.draws and result.discount and result.earned("payment") and len(result.decisions) == 2


def test_a_non_members_answer_too(db):
    result = quote(None, CARTS[0])

    assert evaluation_json(result) == through_the_models(result)
