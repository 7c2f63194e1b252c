"""An order as the API answers it (`OrderOut` of `api.purchases`), as the bytes of its JSON, built directly.

Byte for byte what validating the answer against `OrderOut` and rendering it through the API's JSON renderer
gives (a test holds the two together): money and quantities as the text of their Decimal, times as the renderer
writes them (ISO 8601 to the millisecond, `Z` for UTC), the renderer's `json.dumps` defaults. Every write of
the purchase flow answers with it.
"""

import json

from django.core.serializers.json import DjangoJSONEncoder

from kopilka.orders import contents
from kopilka.orders.models import Order

_time = DjangoJSONEncoder().default  # a datetime as the API's renderer writes it


def order_json(order: Order) -> bytes:
    """The body of an answer about `order`: its lines and its points rows."""
    lines, points = contents.of(order)
    answer = {
        "id": order.pk, "source": order.source, "order_id": order.external_id, "member_id": order.member_id,
        "status": order.status, "purchased_at": _time(order.purchased_at), "total": str(order.total),
        "discount": str(order.discount), "points_spent": order.points_spent, "offline": order.offline,
        "lines": [
            {"line": x.line_no, "sku": x.sku, "quantity": str(x.quantity), "price": str(x.price),
             "amount": str(x.amount), "discount": str(x.discount), "points": x.points_spent,
             "returned_quantity": str(x.returned_quantity)}
            for x in lines
        ],
        "points": [
            {"kind": p.kind, "scenario": p.scenario, "campaign": p.campaign, "points": p.points,
             "entry_id": p.entry_id}
            for p in points
        ],
    }
    return json.dumps(answer).encode()
