"""Catalogue over HTTP (SPEC §4.1): product groups and products, upserted by their codes; reads by group.

Writes need `catalog:write` and an `Idempotency-Key`; reads need `catalog:read`.
"""

from decimal import Decimal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from kopilka.api.auth import scoped
from kopilka.api.common import ERRORS, SOME_TEXT, Amount, IdempotencyKey, length_of
from kopilka.api.idempotency import idempotent_write
from kopilka.catalog import selectors, services
from kopilka.catalog.models import Product, ProductGroup
from kopilka.core import audit

router = Router(tags=["catalogue"])

READ = "catalog:read"
WRITE = "catalog:write"
MAX_BATCH = 1000
GROUP_CODE = length_of(ProductGroup, "code")


class GroupIn(Schema):
    name: str = Field(pattern=SOME_TEXT, max_length=length_of(ProductGroup, "name"))
    parent: str | None = Field(None, max_length=GROUP_CODE,
                               description="Code of the parent group; empty for a top-level group.")


class GroupOut(Schema):
    code: str
    name: str
    parent: str | None
    depth: int


class ProductIn(Schema):
    sku: str = Field(max_length=length_of(Product, "sku"))
    name: str = Field(max_length=length_of(Product, "name"))
    price: Amount = Field(ge=0, max_digits=14, decimal_places=2, description="Roubles with at most two decimal places.")
    group: str | None = Field(None, max_length=GROUP_CODE, description="Code of the product group.")
    is_partner: bool = Field(False, description="A partner product members can buy with points.")
    is_active: bool = True


class ProductBatchIn(Schema):
    products: list[ProductIn] = Field(min_length=1, max_length=MAX_BATCH)


class UpsertOut(Schema):
    created: int
    updated: int


class ProductOut(Schema):
    sku: str
    name: str
    price: Decimal
    group: str | None
    is_partner: bool
    is_active: bool


class ProductPageOut(Schema):
    items: list[ProductOut]
    next_cursor: int | None


class ProductSearch(Schema):
    group: str | None = Field(None, max_length=GROUP_CODE,
                              description="Code of a group; its subgroups are included.")
    q: str | None = Field(None, max_length=length_of(Product, "name"), description="Words of the SKU or name.")
    partner: bool | None = None
    active: bool | None = None
    limit: int = Field(selectors.DEFAULT_PAGE_SIZE, ge=1, le=selectors.MAX_PAGE_SIZE)
    cursor: int | None = Field(None, description="The `next_cursor` of the previous page.")


def _group_out(group: ProductGroup) -> dict:
    parent = group.parent.code if group.parent_id else None
    return {"code": group.code, "name": group.name, "parent": parent, "depth": group.depth}


def _product_out(product: Product) -> dict:
    return {
        "sku": product.sku,
        "name": product.name,
        "price": product.price,
        "group": product.group.code if product.group_id else None,
        "is_partner": product.is_partner,
        "is_active": product.is_active,
    }


@router.get("/groups", auth=scoped(READ), response={200: list[GroupOut], **ERRORS})
def list_groups(request: HttpRequest):
    """Every group, parents before their children."""
    return [_group_out(group) for group in selectors.list_groups()]


@router.put("/groups/{code}", auth=scoped(WRITE), response={200: GroupOut, 201: GroupOut, **ERRORS})
def put_group(request: HttpRequest, code: str, body: GroupIn, idempotency_key: str | None = IdempotencyKey):
    """Creates the group (201) or renames / moves it with its subgroups (200)."""
    def work(principal):
        group, created = services.upsert_group(code=code, name=body.name, parent=body.parent)
        audit.record(None, "catalog.group_saved", _("Saved product group %(code)s") % {"code": code},
                     actor=principal.actor, target=f"catalog.productgroup:{group.pk}", details=payload)
        group.refresh_from_db()
        return (201 if created else 200), _group_out(group)

    payload = {"code": code, **body.model_dump()}
    return idempotent_write(request, idempotency_key, "catalog.group", payload, work)


@router.post("/products", auth=scoped(WRITE), response={200: UpsertOut, **ERRORS})
def upsert_products(request: HttpRequest, body: ProductBatchIn, idempotency_key: str | None = IdempotencyKey):
    """Creates or updates up to 1,000 products by SKU, all or nothing. Fields an item leaves out keep their value
    on an existing product; `"group": null` takes a product out of its group."""
    def work(principal):
        result = services.upsert_products(item.model_dump(exclude_unset=True) for item in body.products)
        summary = _("Saved products: %(created)d new, %(updated)d updated.") % {
            "created": result.created, "updated": result.updated}
        audit.record(None, "catalog.products_saved", summary, actor=principal.actor, target="catalog.product",
                     details={"skus": [item.sku for item in body.products][:100]})
        return 200, {"created": result.created, "updated": result.updated}

    payload = body.model_dump(mode="json")
    return idempotent_write(request, idempotency_key, "catalog.products", payload, work)


@router.get("/products", auth=scoped(READ), response={200: ProductPageOut, **ERRORS})
def search_products(request: HttpRequest, filters: Query[ProductSearch]):
    page = selectors.search_products(**filters.model_dump())
    return {"items": [_product_out(p) for p in page.items], "next_cursor": page.next_cursor}


@router.get("/products/{sku}", auth=scoped(READ), response={200: ProductOut, **ERRORS})
def get_product(request: HttpRequest, sku: str):
    return _product_out(selectors.get_product(sku))
