"""What the campaign builder's condition rows offer to choose from, and the builder's words, in the request's
language: the payload the page hands to static/backoffice/builder.js.

Every list is `[value, label]` pairs in the order shown; a value is what the condition tree stores (a code, a
"<region code>:<name>" city key). Products are many: the first `PRODUCTS_OFFERED` by SKU are offered, and any
other SKU may still be typed.
"""

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from kopilka.campaigns.conditions import MILLION, STAGE_NAMES
from kopilka.catalog.models import Product, ProductGroup
from kopilka.customers.models import City, EligibilityFlag, Region, Tag
from kopilka.tiers.models import Tier

PRODUCTS_OFFERED = 2_000
GROUPS_COUNTED = 30  # the live count answers for at most this many groups of one tree


def _pairs(model) -> list[list[str]]:
    return [[code, f"{name} ({code})" if name != code else code]
            for code, name in model.objects.order_by("name", "code").values_list("code", "name")]


def _cities() -> list[list[str]]:
    rows = City.objects.select_related("region").order_by("name", "region__code")
    return [[f"{c.region.code}:{c.name}", f"{c.name} ({c.region.name}){' · 1 000 000+' if c.is_million_plus else ''}"]
            for c in rows]


def condition_choices() -> dict:
    regions = list(Region.objects.order_by("code").values_list("code", "name", "federal_district"))
    return {
        "kinds": [
            ["member_kind", _("member kind")], ["tags", _("tags")], ["eligibility", _("eligibility flags")],
            ["region", _("region or federal district")], ["city", _("city")],
            ["million_plus", _("million-plus city")], ["orders", _("number of orders")],
            ["spent", _("total spent")], ["lifecycle", _("lifecycle stage")],
            ["purchased", _("bought products")], ["tier", _("tier")], ["birthday", _("birthday")],
        ],
        "member_kinds": [["individual", _("individual")], ["legal_entity", _("legal entity")]],
        "stages": [[code, str(name)] for code, name in STAGE_NAMES.items()],
        "ops": [["lt", "<"], ["le", "≤"], ["eq", "="], ["ge", "≥"], ["gt", ">"]],
        "tags": _pairs(Tag),
        "flags": _pairs(EligibilityFlag),
        "regions": [[code, f"{code} {name}"] for code, name, _district in regions],
        "districts": [[d, d] for d in sorted({district for *_rest, district in regions if district})],
        "cities": _cities(),
        "tiers": _pairs(Tier),
        "groups": _pairs(ProductGroup),
        "skus": [[sku, f"{name} ({sku})"] for sku, name in
                 Product.objects.order_by("sku").values_list("sku", "name")[:PRODUCTS_OFFERED]],
        "words": {
            "all": _("all of"), "any": _("any of"), "not": _("not"), "group": _("Group of conditions"),
            "condition": _("Condition"), "add_condition": _("+ condition"), "add_group": _("+ group"),
            "remove": _("Remove"), "remove_group": _("Remove the group"), "remove_value": _("Remove %(value)s"),
            "everybody": _("No conditions: every active member."), "empty_group": _("An empty group: add a condition."),
            "search": _("Type to search…"), "matching": _("Members who meet"), "eligible": _("eligible now"),
            "match": _("Which of them"), "match_any": _("any of them"), "match_all": _("all of them"),
            "orders_unit": pgettext("unit", "orders"),
            "days_unit": pgettext("unit", "days"), "within": _("over the last"), "all_time": _("empty: all time"),
            "roubles": "₽", "tags": _("Tags"), "flags": _("Eligibility flags"), "regions": _("Regions"),
            "districts": _("Federal districts"), "cities": _("Cities"), "tiers": _("Tiers"),
            "groups": _("Product groups"), "skus": _("Products (SKU)"), "stages": _("Stages"),
            "member_kind": _("Member kind"), "value": _("Value"), "comparison": _("Comparison"),
            "birthday_days": _("days before or after today"), "million_plus": _(
                "the member's city has %(n)s people or more") % {"n": f"{MILLION:,}".replace(",", "\u00a0")},
            "json_invalid": _("Not valid JSON: the builder keeps the last valid tree."),
            "unknown": _("Pick from the list."),
        },
    }
