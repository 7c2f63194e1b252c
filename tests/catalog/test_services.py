"""Product groups and products: upserts, the group tree, and batches that are saved whole or not at all."""

from decimal import Decimal

import pytest
from django.utils import translation

from kopilka.catalog import selectors, services
from kopilka.catalog.models import Product, ProductGroup
from kopilka.core.errors import Conflict, NotFound, ValidationFailed

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def tree():
    """fillers ⊃ {ha ⊃ ha-lips, biorev}; care."""
    for code, name, parent in [
        ("fillers", "Филлеры", None),
        ("ha", "Гиалуроновые филлеры", "fillers"),
        ("ha-lips", "Филлеры для губ", "ha"),
        ("biorev", "Биоревитализанты", "fillers"),
        ("care", "Уход", None),
    ]:
        services.upsert_group(code=code, name=name, parent=parent)


def _paths() -> dict[str, str]:
    ids = dict(ProductGroup.objects.values_list("pk", "code"))
    return {code: "/".join(ids[int(i)] for i in path.strip("/").split("/"))
            for code, path in ProductGroup.objects.values_list("code", "path")}


def test_groups_know_their_ancestors(tree):
    assert _paths() == {
        "fillers": "fillers", "ha": "fillers/ha", "ha-lips": "fillers/ha/ha-lips", "biorev": "fillers/biorev",
        "care": "care",
    }
    assert [g.code for g in selectors.list_groups()][:3] == ["fillers", "ha", "ha-lips"]
    assert ProductGroup.objects.get(code="ha-lips").depth == 2


def test_moving_a_group_carries_its_subtree_and_renames_it(tree):
    group, created = services.upsert_group(code="ha", name="HA", parent="care")

    assert not created and group.name == "HA"
    assert _paths()["ha-lips"] == "care/ha/ha-lips"
    assert sorted(ProductGroup.objects.filter(pk__in=selectors.subtree("care")).values_list("code", flat=True)) == [
        "care", "ha", "ha-lips",
    ]
    assert sorted(ProductGroup.objects.filter(pk__in=selectors.subtree("fillers")).values_list("code", flat=True)) == [
        "biorev", "fillers",
    ]


def test_a_group_cannot_move_under_itself_or_its_subgroup(tree):
    before = _paths()

    for parent in ("fillers", "ha-lips"):
        with pytest.raises(Conflict) as refused:
            services.upsert_group(code="fillers", name="Филлеры", parent=parent)
        assert refused.value.code == "product_group_cycle"

    assert _paths() == before


def test_bad_group_codes_and_unknown_parents_are_refused(tree):
    with pytest.raises(ValidationFailed):
        services.upsert_group(code="филлеры", name="x")
    with pytest.raises(NotFound):
        services.upsert_group(code="new", name="x", parent="nope")
    assert not ProductGroup.objects.filter(code="new").exists()


def test_products_are_created_then_updated_by_sku_keeping_what_an_update_leaves_out(tree):
    first = services.upsert_products([
        {"sku": "HA-1", "name": "Филлер 1 мл", "price": "6900", "group": "ha", "is_partner": True},
        {"sku": "CR-50", "name": "Крем", "price": Decimal("1450.5")},
    ])
    second = services.upsert_products([{"sku": "HA-1", "name": "Филлер 1 мл (новый)", "price": "7100.00"}])

    assert (first.created, first.updated, second.created, second.updated) == (2, 0, 0, 1)
    ha = Product.objects.get(sku="HA-1")
    assert (ha.name, ha.price, ha.group.code, ha.is_partner, ha.is_active) == (
        "Филлер 1 мл (новый)", Decimal("7100.00"), "ha", True, True,
    )
    cream = Product.objects.get(sku="CR-50")
    assert (cream.price, cream.group, cream.is_partner) == (Decimal("1450.50"), None, False)


def test_one_bad_item_refuses_the_whole_batch_and_lists_every_problem(tree):
    services.upsert_products([{"sku": "HA-1", "name": "Филлер", "price": "6900"}])

    with pytest.raises(ValidationFailed) as refused:
        services.upsert_products([
            {"sku": "HA-1", "name": "Переименован", "price": "1"},
            {"sku": "NEW", "name": "Новый", "price": "-1"},
            {"sku": "", "name": "Без артикула", "price": "10.999"},
            {"sku": "G", "name": "С группой", "price": "5", "group": "nope"},
            {"sku": "NEW", "name": "Повтор", "price": "5", "colour": "red"},
        ])

    assert refused.value.code == "catalog_batch_rejected"
    assert [(e["index"], e["field"]) for e in refused.value.details["errors"]] == [
        (1, "price"), (2, "sku"), (2, "price"), (3, "group"), (4, ""), (4, "sku"),
    ]
    assert list(Product.objects.values_list("sku", "name")) == [("HA-1", "Филлер")]


def test_products_are_found_by_group_with_subgroups_by_words_and_by_flags(tree):
    services.upsert_products([
        {"sku": "HA-LIPS-1", "name": "Lips filler", "price": "7000", "group": "ha-lips"},
        {"sku": "BIO-2", "name": "Biorevitalisant", "price": "8300", "group": "biorev"},
        {"sku": "CREAM", "name": "Post-procedure cream", "price": "1450", "group": "care", "is_partner": True},
    ])

    def skus(**filters):
        return [p.sku for p in selectors.search_products(**filters).items]

    assert skus(group="fillers") == ["HA-LIPS-1", "BIO-2"]
    assert skus(group="ha") == ["HA-LIPS-1"]
    assert skus(q="cream post") == ["CREAM"]
    assert skus(partner=True) == ["CREAM"]
    page = selectors.search_products(limit=2)
    assert [p.sku for p in page.items] == ["HA-LIPS-1", "BIO-2"]
    assert [p.sku for p in selectors.search_products(limit=2, cursor=page.next_cursor).items] == ["CREAM"]
