"""Writes of the catalogue: product groups and products, created or updated by their codes (upsert).

A batch of products is checked whole before anything is written: one bad item refuses the batch and the
refusal lists every bad item with its position, so an import never half-happens.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Value
from django.db.models.functions import Concat, Substr
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from kopilka.catalog.errors import group_not_found
from kopilka.catalog.models import Product, ProductGroup
from kopilka.core.errors import Conflict, ValidationFailed, check_code

PRICE_LIMIT = Decimal(10) ** 12
PRODUCT_FIELDS = ("sku", "name", "price", "group", "is_partner", "is_active")


def upsert_group(*, code: str, name: str, parent: str | None = None) -> tuple[ProductGroup, bool]:
    """Creates the group `code` or renames / moves it; returns (group, created). A move carries the subtree."""
    code = _group_code(code)
    name = _text(name, "name", ProductGroup)
    with transaction.atomic():
        parent_group = _parent(parent)
        group = ProductGroup.objects.select_for_update().filter(code=code).first()
        if group is None:
            group = ProductGroup.objects.create(code=code, name=name, parent=parent_group, path="")
            group.path = group.path_below(parent_group)
            group.save(update_fields=["path"])
            return group, True
        if parent_group is not None and parent_group.path.startswith(group.path):
            raise Conflict(
                _("A group cannot be moved into itself or into one of its subgroups."),
                code="product_group_cycle",
                details={"group": code, "parent": parent},
            )
        old_path = group.path
        group.name, group.parent = name, parent_group
        group.path = group.path_below(parent_group)
        group.save(update_fields=["name", "parent", "path", "updated_at"])
        if group.path != old_path:
            ProductGroup.objects.filter(path__startswith=old_path).exclude(pk=group.pk).update(
                path=Concat(Value(group.path), Substr("path", len(old_path) + 1))
            )
        return group, False


@dataclass(frozen=True)
class UpsertResult:
    created: int
    updated: int


def upsert_products(items: Iterable[Mapping[str, Any]]) -> UpsertResult:
    """Creates or updates products by SKU, all or nothing. Fields an item leaves out keep their value on an
    existing product and take their default on a new one (not a partner product, on sale)."""
    items = list(items)
    groups = dict(ProductGroup.objects.values_list("code", "pk"))
    checked, errors, seen = [], [], {}
    for index, item in enumerate(items):
        fields, problems = _check_product(item, groups)
        sku = fields.get("sku")
        if sku and sku in seen:
            problems.append(("sku", _("The SKU also appears at position %(index)s.") % {"index": seen[sku]}))
        elif sku:
            seen[sku] = index
        errors += [
            {"index": index, "sku": item.get("sku"), "field": field, "problem": str(problem)}
            for field, problem in problems
        ]
        checked.append(fields)
    if errors:
        raise ValidationFailed(
            ngettext_lazy(
                "No product was saved: %(count)s problem in the batch.",
                "No product was saved: %(count)s problems in the batch.",
                "count",
            )
            % {"count": len(errors)},
            code="catalog_batch_rejected",
            details={"errors": errors},
        )
    with transaction.atomic():
        existing = {p.sku: p for p in Product.objects.select_for_update().filter(sku__in=list(seen))}
        new = [Product(**{"is_partner": False, "is_active": True, **f}) for f in checked if f["sku"] not in existing]
        changed = []
        for fields in checked:
            product = existing.get(fields["sku"])
            if product is not None:
                for name, value in fields.items():
                    setattr(product, name, value)
                changed.append(product)
        Product.objects.bulk_create(new)
        if changed:
            Product.objects.bulk_update(changed, [f for f in PRODUCT_FIELDS if f != "sku"] + ["updated_at"])
    return UpsertResult(created=len(new), updated=len(changed))


def _check_product(item: Mapping[str, Any], groups: dict[str, int]) -> tuple[dict, list]:
    """The model fields of one item and the problems found, as (field, message) pairs."""
    fields, problems = {}, []
    unknown = sorted(set(item) - set(PRODUCT_FIELDS))
    if unknown:
        problems.append(("", _("Unknown fields: %(fields)s.") % {"fields": ", ".join(unknown)}))
    for name, check in (("sku", _sku), ("name", _product_name), ("price", _price)):
        try:
            fields[name] = check(item.get(name))
        except ValidationFailed as error:
            problems.append((name, error.message))
    if "group" in item:
        code = item["group"]
        if code in (None, ""):
            fields["group_id"] = None
        elif code in groups:
            fields["group_id"] = groups[code]
        else:
            problems.append(("group", _("No such product group: %(code)s.") % {"code": code}))
    for flag in ("is_partner", "is_active"):
        if flag in item:
            if not isinstance(item[flag], bool):
                problems.append((flag, _("Must be true or false.")))
            fields[flag] = bool(item[flag])
    return fields, problems


def _sku(value: Any) -> str:
    return _text(value, "sku", Product)


def _product_name(value: Any) -> str:
    return _text(value, "name", Product)


def _price(value: Any) -> Decimal:
    try:
        price = Decimal(str(value).strip().replace(",", ".")) if value not in (None, "") else None
    except InvalidOperation:
        price = None
    if price is None or not price.is_finite():
        raise ValidationFailed(_("The price must be a number of roubles, e.g. 1490.50."))
    if price < 0 or price >= PRICE_LIMIT:
        raise ValidationFailed(_("The price must be at least 0 and below 10^12 roubles."))
    if price != price.quantize(Decimal("0.01")):
        raise ValidationFailed(_("The price may have at most two decimal places (kopecks)."))
    return price.quantize(Decimal("0.01"))


def _text(value: Any, field: str, model) -> str:
    text = str(value).strip() if value is not None else ""
    if not text:
        raise ValidationFailed(_("This field is required."), details={"field": field})
    limit = model._meta.get_field(field).max_length
    if len(text) > limit:
        raise ValidationFailed(
            _("At most %(limit)s characters.") % {"limit": limit}, details={"field": field, "limit": limit}
        )
    return text


def _group_code(value: Any) -> str:
    return check_code(_text(value, "code", ProductGroup))


def _parent(code: str | None) -> ProductGroup | None:
    if code in (None, ""):
        return None
    parent = ProductGroup.objects.select_for_update().filter(code=code).first()
    if parent is None:
        raise group_not_found(code)
    return parent
