"""The catalogue API: scopes, upserts of groups and product batches, reads by group."""

import pytest

from kopilka.catalog.models import Product

pytestmark = pytest.mark.django_db

BASE = "/api/v1/catalog"


@pytest.fixture
def api(caller_with):
    return caller_with("catalog:read", "catalog:write")


def test_reading_needs_the_read_scope_and_writing_the_write_scope(caller_with, anonymous):
    reader = caller_with("catalog:read")

    assert anonymous.get(f"{BASE}/groups").status_code == 401
    assert caller_with("members:read").get(f"{BASE}/products").status_code == 403
    assert reader.get(f"{BASE}/groups").status_code == 200
    response = reader.put(f"{BASE}/groups/fillers", {"name": "Филлеры"}, key="g-1")
    assert (response.status_code, response.json()["code"]) == (403, "forbidden")


def test_groups_are_created_then_moved_and_listed_as_a_tree(api):
    created = api.put(f"{BASE}/groups/fillers", {"name": "Филлеры"}, key="g-1")
    api.put(f"{BASE}/groups/care", {"name": "Уход"}, key="g-2")
    child = api.put(f"{BASE}/groups/ha", {"name": "Гиалуроновые", "parent": "fillers"}, key="g-3")
    moved = api.put(f"{BASE}/groups/ha", {"name": "Гиалуроновые", "parent": "care"}, key="g-4")

    assert (created.status_code, child.status_code, moved.status_code) == (201, 201, 200)
    assert moved.json() == {"code": "ha", "name": "Гиалуроновые", "parent": "care", "depth": 1}
    assert [(g["code"], g["parent"]) for g in api.get(f"{BASE}/groups").json()] == [
        ("fillers", None), ("care", None), ("ha", "care"),
    ]


def test_a_replayed_group_write_answers_the_same_and_a_cycle_is_409(api):
    first = api.put(f"{BASE}/groups/fillers", {"name": "Филлеры"}, key="g-1")
    replay = api.put(f"{BASE}/groups/fillers", {"name": "Филлеры"}, key="g-1")
    api.put(f"{BASE}/groups/ha", {"name": "HA", "parent": "fillers"}, key="g-2")
    cycle = api.put(f"{BASE}/groups/fillers", {"name": "Филлеры", "parent": "ha"}, key="g-3")

    assert (replay.status_code, replay.json()) == (first.status_code, first.json())
    assert (cycle.status_code, cycle.json()["code"]) == (409, "product_group_cycle")


def test_a_product_batch_is_upserted_and_read_back_by_group(api):
    api.put(f"{BASE}/groups/fillers", {"name": "Филлеры"}, key="g-1")
    batch = {"products": [
        {"sku": "HA-1", "name": "Филлер 1 мл", "price": "6900.00", "group": "fillers"},
        {"sku": "CARD", "name": "Подарочная карта партнёра", "price": 1000, "is_partner": True},
    ]}

    response = api.post(f"{BASE}/products", batch, key="p-1")
    update = api.post(f"{BASE}/products", {"products": [{"sku": "HA-1", "name": "Филлер", "price": "7000"}]},
                      key="p-2")

    assert (response.status_code, response.json()) == (200, {"created": 2, "updated": 0})
    assert update.json() == {"created": 0, "updated": 1}
    assert api.get(f"{BASE}/products/HA-1").json() == {
        "sku": "HA-1", "name": "Филлер", "price": "7000.00", "group": "fillers", "is_partner": False,
        "is_active": True,
    }
    listed = api.get(f"{BASE}/products", {"group": "fillers"}).json()
    assert [p["sku"] for p in listed["items"]] == ["HA-1"] and listed["next_cursor"] is None
    assert api.get(f"{BASE}/products/NOPE").json()["code"] == "product_not_found"


def test_a_bad_batch_is_422_with_positions_and_saves_nothing(api):
    batch = {"products": [
        {"sku": "OK", "name": "Годный", "price": "10"},
        {"sku": "BAD", "name": "Без группы", "price": "10", "group": "missing"},
    ]}

    response = api.post(f"{BASE}/products", batch, key="p-1")

    assert response.status_code == 422
    assert response.json()["details"]["errors"] == [
        {"index": 1, "sku": "BAD", "field": "group", "problem": "No such product group: missing."}
    ]
    assert not Product.objects.exists()
