"""The campaign builder's preview: what a sample cart of a chosen member would earn under draft rules, decided by
the same engine as a real purchase and explained in the same words."""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

from kopilka.campaigns.engine import Decision, LiveCampaign, PurchaseLine, decide
from kopilka.campaigns.facts import member_facts
from kopilka.campaigns.rules import parse_rules
from kopilka.catalog.models import Product
from kopilka.catalog.selectors import ancestor_codes_by_sku
from kopilka.core import clock
from kopilka.core.errors import ValidationFailed


@dataclass(frozen=True)
class Preview:
    lines: list[PurchaseLine]
    decisions: dict[str, list[Decision]]  # scenario → decisions


def cart_lines(text: str) -> list[PurchaseLine]:
    """"SKU" or "SKU × quantity" per line, priced from the catalogue."""
    wanted = []
    for number, raw in enumerate([r for r in text.splitlines() if r.strip()], start=1):
        sku, _sep, quantity = raw.replace("×", "x").replace("*", "x").partition(" x ")
        try:
            count = Decimal(quantity.strip().replace(",", ".") or 1)
        except InvalidOperation:
            count = Decimal(-1)
        if count <= 0:
            raise ValidationFailed(_("Line %(n)d: the quantity must be a positive number.") % {"n": number})
        wanted.append((number, sku.strip(), count))
    prices = dict(Product.objects.filter(sku__in=[sku for _n, sku, _q in wanted]).values_list("sku", "price"))
    unknown = [sku for _n, sku, _q in wanted if sku not in prices]
    if unknown:
        raise ValidationFailed(_("Not in the catalogue: %(skus)s") % {"skus": ", ".join(unknown)})
    if not wanted:
        raise ValidationFailed(_("Give at least one line of the sample cart."))
    groups = ancestor_codes_by_sku({sku for _n, sku, _q in wanted})
    return [PurchaseLine(n, sku, (prices[sku] * q).quantize(Decimal("0.01")), groups.get(sku, frozenset()))
            for n, sku, q in wanted]


def preview(rules: dict, *, code: str, name: str, member_id: int, cart: str) -> Preview:
    checked = parse_rules(rules)
    campaign = LiveCampaign(code=code or "draft", reference=f"{code or 'draft'}:preview", public_name=name,
                            lot_category="", priority=0, combination="stack", rules=checked)
    facts = member_facts(member_id, clock.now())
    lines = cart_lines(cart)
    return Preview(lines, {scenario: decide([campaign], facts, scenario=scenario, lines=lines)
                           for scenario in ("payment", "shipment")})
