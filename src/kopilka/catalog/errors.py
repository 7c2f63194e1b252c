"""Refusals of the catalogue, with their codes."""

from django.utils.translation import gettext_lazy as _

from kopilka.core.errors import NotFound


def group_not_found(code: str) -> NotFound:
    return NotFound(_("No such product group."), code="product_group_not_found", details={"group": code})


def product_not_found(sku: str) -> NotFound:
    return NotFound(_("No such product."), code="product_not_found", details={"sku": sku})
