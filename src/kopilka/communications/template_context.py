"""What a message template's variables hold for one member at a moment (see `templating.variables`).

Reads only: the member's names, balance and coming burns (the ledger), tier and what the next one needs (tiers),
and the offered products by SKU (the catalogue; unknown or inactive SKUs are left out). Whoever sends the message
adds what only it knows (the unsubscribe link).
"""

from collections.abc import Sequence
from datetime import datetime

from kopilka.catalog.models import Product
from kopilka.customers.selectors import get_member
from kopilka.ledger.selectors import balance
from kopilka.tiers.services import progress


def member_context(member_id: int, at: datetime, *, offers: Sequence[str] = ()) -> dict:
    """The variables of a message to the member at `at`; `offers` are SKUs in the order to show them."""
    member = get_member(member_id)
    points = balance(member_id, at)
    coming = points.upcoming_expirations
    state = progress(member_id, at)
    products = {p.sku: p for p in Product.objects.filter(sku__in=list(offers), is_active=True)}
    return {
        "member": {
            "first_name": member.first_name, "middle_name": member.middle_name, "last_name": member.last_name,
            "name": member.first_name or member.legal_name or str(member),
        },
        "balance": {"available": points.available, "total": points.total},
        "burning": {"date": coming[0][0], "points": coming[0][1]} if coming else {"date": None, "points": 0},
        "burning_all": coming,
        "tier": {"name": state.tier.name if state.tier else ""},
        "next_tier": {"name": state.next_tier.name if state.next_tier else "", "needed": state.needed},
        "offers": [{"sku": sku, "name": products[sku].name, "price": products[sku].price}
                   for sku in offers if sku in products],
    }
