"""The catalogue (SPEC §4.1): products in a hierarchy of product groups — the vocabulary campaign rules speak.

Invariants:
- a group's `path` is "/" followed by the ids of its ancestors and its own id, each zero-padded to
  PATH_DIGITS and followed by "/": the groups of a subtree are those whose path starts with its root's path,
  and ordering by path puts parents before children under any collation; the services keep it;
- the hierarchy has no cycles;
- prices are Decimal roubles with kopecks, never negative.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

MONEY = {"max_digits": 14, "decimal_places": 2}
PATH_DIGITS = 10


class ProductGroup(models.Model):
    code = models.SlugField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=200)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("parent group"),
    )
    path = models.CharField(max_length=1000, db_index=True, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["path"]
        verbose_name = _("product group")
        verbose_name_plural = _("product groups")

    def __str__(self) -> str:
        return self.name

    def path_below(self, parent: "ProductGroup | None") -> str:
        """This group's path when its parent is `parent`."""
        return f"{parent.path if parent else '/'}{self.pk:0{PATH_DIGITS}d}/"

    @property
    def depth(self) -> int:
        """0 for a top-level group."""
        return self.path.count("/") - 2


class Product(models.Model):
    sku = models.CharField(_("SKU"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=300)
    group = models.ForeignKey(
        ProductGroup,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="products",
        verbose_name=_("product group"),
    )
    price = models.DecimalField(_("price"), **MONEY)
    is_partner = models.BooleanField(
        _("partner product"), default=False, help_text=_("a partner's product that members can buy with points")
    )
    is_active = models.BooleanField(_("on sale"), default=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["sku"]
        verbose_name = _("product")
        verbose_name_plural = _("products")
        constraints = [models.CheckConstraint(condition=models.Q(price__gte=0), name="product_price_not_negative")]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"
