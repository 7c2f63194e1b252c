"""The purchase flow over HTTP: evaluate, place, pay, return — idempotent, with one error format."""

from datetime import timedelta

import pytest

from kopilka.campaigns import services as campaigns
from kopilka.catalog import services as catalog
from kopilka.core import clock
from kopilka.customers import services as members
from kopilka.ledger import services as ledger
from kopilka.ledger.models import Entry
from kopilka.ledger.selectors import balance

pytestmark = pytest.mark.django_db
BASE = "/api/v1/purchases"


@pytest.fixture
def till(caller_with):
    return caller_with("purchases:read", "purchases:write")


@pytest.fixture
def anna(db):
    catalog.upsert_group(code="care", name="Уход")
    catalog.upsert_products([{"sku": "CREAM", "name": "Крем", "price": "1000", "group": "care"}])
    campaigns.create_campaign(code="base", name="Базовая", type="base", starts_at=clock.now() - timedelta(days=9),
                              actor="t", rules={"accrual": {"reward": "percent", "percent": "5"}})
    campaigns.change_status(code="base", action="activate", actor="t")
    member = members.create_member(actor="t", last_name="Иванова", external_ids=[("card", "2700000000017")])
    ledger.accrue(member_id=member.pk, points=500, actor="t", idempotency_key="gift", category="compensation",
                  reason_code="goodwill")
    return member


CART = {"member": {"system": "card", "value": "2700000000017"},
        "lines": [{"sku": "CREAM", "quantity": 2, "price": "1000"}]}


def test_evaluation_shows_the_maximum_the_lots_and_the_earnings_and_changes_nothing(till, anna):
    response = till.post(f"{BASE}/evaluate", {**CART, "points": "max"})

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["points_max"], body["points"], body["discount"], body["to_pay"]) == (500, 500, "500.00", "1500.00")
    assert body["earns"] == {"payment": 75, "shipment": 0}
    assert body["lines"][0]["earns"] == {"payment": 75}
    assert [(s["points"], s["campaign"]) for s in body["spend"]] == [(500, "")]
    assert body["campaigns"][0]["explanation"].startswith("Базовая (base:v1): 5 % of 1,500.00 ₽")
    assert Entry.objects.count() == 1


def test_place_pay_and_return_through_the_api_with_replays(till, anna):
    placed = till.post(f"{BASE}/", {**CART, "order_id": "R-1", "points": 200}, key="p-1")
    replay = till.post(f"{BASE}/", {**CART, "order_id": "R-1", "points": 200}, key="p-1")
    assert placed.status_code == 201 and replay.json() == placed.json()
    order_id = placed.json()["id"]
    assert balance(anna.pk).held == 200

    paid = till.post(f"{BASE}/{order_id}/pay", {}, key="pay-1").json()
    assert paid["status"] == "paid"
    assert [(p["kind"], p["points"]) for p in paid["points"]] == [("spend", 200), ("earn", 90)]

    returned = till.post(f"{BASE}/{order_id}/returns", {"lines": [{"line": 1, "quantity": 2}]}, key="ret-1").json()
    assert returned["status"] == "returned"
    assert balance(anna.pk).total == 500
    again = till.post(f"{BASE}/{order_id}/pay", {}, key="pay-2")
    assert (again.status_code, again.json()["code"]) == (409, "order_status_conflict")


def test_unknown_members_and_bad_lines_are_refused_with_codes(till, anna):
    unknown = till.post(f"{BASE}/evaluate", {**CART, "member": {"system": "card", "value": "nope"}})
    negative = till.post(f"{BASE}/evaluate", {**CART, "lines": [{"sku": "CREAM", "quantity": -1, "price": "1"}]})

    assert (unknown.status_code, unknown.json()["code"]) == (404, "member_not_found")
    assert (negative.status_code, negative.json()["code"]) == (422, "validation_error")


def test_a_till_without_the_write_scope_can_evaluate_but_not_place(caller_with, anna):
    reader = caller_with("purchases:read")

    assert reader.post(f"{BASE}/evaluate", CART).status_code == 200
    assert reader.post(f"{BASE}/", {**CART, "order_id": "R-1"}, key="p-1").status_code == 403


def test_banners_show_each_members_terms_per_product(till, anna):
    campaigns.create_campaign(code="doctors", name="Врачам x2", type="promo", starts_at=clock.now() - timedelta(days=9),
                              actor="t", rules={
        "conditions": {"type": "member_kind", "kind": "legal_entity"},
        "accrual": {"reward": "percent", "percent": "5", "multiplier": "2"},
    })
    campaigns.change_status(code="doctors", action="activate", actor="t")

    mine = till.get(f"{BASE}/banners", {"sku": ["CREAM", "UNKNOWN"], "card": "2700000000017"}).json()
    guest = till.get(f"{BASE}/banners", {"sku": ["CREAM"]}).json()

    assert mine == [
        {"sku": "CREAM", "earn": [{"campaign": "base:v1", "name": "Базовая", "scenario": "payment", "percent": "5.00",
                                   "points": None, "min_order": "0"}],
         "payable_percent": "30", "points_available": 500, "partner": False, "point_value": None},
        {"sku": "UNKNOWN", "earn": [{"campaign": "base:v1", "name": "Базовая", "scenario": "payment",
                                     "percent": "5.00", "points": None, "min_order": "0"}],
         "payable_percent": "30", "points_available": 500, "partner": False, "point_value": None},
    ]
    assert [t["campaign"] for t in guest[0]["earn"]] == ["base:v1"]
    assert (guest[0]["payable_percent"], guest[0]["points_available"]) == ("0", 0)


def test_a_partner_product_of_the_redemption_shop_is_paid_with_points_beyond_the_receipts_cap(till, anna, settings):
    settings.KOPILKA = {**settings.KOPILKA, "PARTNER_CAP_PERCENT": "100", "PARTNER_POINT_VALUE": "1"}
    catalog.upsert_products([{"sku": "SPA", "name": "Сертификат в спа", "price": "400", "is_partner": True}])
    ledger.accrue(member_id=anna.pk, points=1000, actor="t", idempotency_key="more", category="compensation",
                  reason_code="goodwill")
    cart = {"member": {"id": anna.pk}, "lines": [{"sku": "CREAM", "quantity": 1, "price": "1000"},
                                                 {"sku": "SPA", "quantity": 1, "price": "400"}]}

    banner = till.get(f"{BASE}/banners", {"sku": ["SPA"], "member_id": anna.pk}).json()[0]
    placed = till.post(f"{BASE}/", {**cart, "order_id": "R-1", "points": "max"}, key="p-1").json()

    # 30 % of the cream, and the whole certificate: the receipt's 30 % (420 ₽) does not count the certificate.
    assert [(line["sku"], line["points"], line["discount"]) for line in placed["lines"]] == [
        ("CREAM", 300, "300.00"), ("SPA", 400, "400.00"),
    ]
    assert (banner["partner"], banner["payable_percent"], banner["point_value"]) == (True, "100", "1")
