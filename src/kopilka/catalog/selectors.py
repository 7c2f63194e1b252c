"""Reads of the catalogue: the group tree, a group's subtree, products by group or words, one product."""

from dataclasses import dataclass

from django.db.models import Q

from kopilka.catalog.errors import group_not_found, product_not_found
from kopilka.catalog.models import Product, ProductGroup
from kopilka.core import sql

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


def list_groups() -> list[ProductGroup]:
    """Every group, parents before their children (ordered by path)."""
    return list(ProductGroup.objects.select_related("parent"))


def subtree(code: str) -> list[int]:
    """Ids of the group `code` and of all groups below it."""
    group = ProductGroup.objects.filter(code=code).first()
    if group is None:
        raise group_not_found(code)
    return list(ProductGroup.objects.filter(path__startswith=group.path).values_list("pk", flat=True))


@dataclass(frozen=True)
class ProductPage:
    items: list[Product]
    next_cursor: int | None


def search_products(
    *,
    group: str | None = None,
    q: str | None = None,
    partner: bool | None = None,
    active: bool | None = None,
    cursor: int | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
) -> ProductPage:
    """Products in id order, keyset-paged; `group` includes its subgroups; `q` matches SKU or name words."""
    query = Product.objects.select_related("group").order_by("pk")
    if group:
        query = query.filter(group_id__in=subtree(group))
    for word in (q or "").split():
        query = query.filter(Q(sku__icontains=word) | Q(name__icontains=word))
    if partner is not None:
        query = query.filter(is_partner=partner)
    if active is not None:
        query = query.filter(is_active=active)
    if cursor is not None:
        query = query.filter(pk__gt=cursor)
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    items = list(query[: limit + 1])
    more = len(items) > limit
    items = items[:limit]
    return ProductPage(items=items, next_cursor=items[-1].pk if more else None)


def get_product(sku: str) -> Product:
    product = Product.objects.select_related("group").filter(sku=sku).first()
    if product is None:
        raise product_not_found(sku)
    return product


@dataclass(frozen=True)
class ProductTerms:
    """What the purchase path needs of a product: its group with the ancestors, and whether the redemption shop
    sells it (a partner product)."""

    groups: frozenset[str]
    partner: bool


def product_terms(skus: set[str]) -> dict[str, ProductTerms]:
    """For each SKU of the catalogue among `skus`: its groups' codes (its group's and the ancestors', whose paths
    begin its group's path) and its kind — one read."""
    if not skus:
        return {}
    groups = ProductGroup._meta.db_table
    found: dict[str, tuple[set[str], bool]] = {}
    for sku, partner, code in sql.rows(
        f"SELECT p.sku, p.is_partner, a.code FROM {Product._meta.db_table} p"
        f" LEFT JOIN {groups} g ON g.id = p.group_id LEFT JOIN {groups} a ON g.path LIKE a.path || '%%'"
        f" WHERE p.sku IN ({sql.placeholders(skus)})",
        list(skus),
    ):
        codes, _ = found.setdefault(sku, (set(), bool(partner)))
        if code is not None:
            codes.add(code)
    return {sku: ProductTerms(frozenset(codes), partner) for sku, (codes, partner) in found.items()}


def ancestor_codes_by_sku(skus: set[str]) -> dict[str, frozenset[str]]:
    """For each SKU of the catalogue among `skus` that is in a group: the codes of its group and of that group's
    ancestors."""
    return {sku: terms.groups for sku, terms in product_terms(skus).items() if terms.groups}
