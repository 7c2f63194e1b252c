"""The evaluation's answer (`EvaluationOut` of `api.purchases`) as the bytes of its JSON, built directly.

Byte for byte what validating the answer against `EvaluationOut` and rendering it through the API's JSON
renderer gives (a test holds the two together): money as the text of its Decimal, dictionary keys as text,
the renderer's `json.dumps` defaults. No model is validated on the way: a till asks on every cart change.
"""

import json

from kopilka.purchases.quote import Quote


def evaluation_json(result: Quote) -> bytes:
    """The body of a 200 answer to evaluate."""
    discount = result.discount
    total = result.total
    answer = {
        "total": str(total), "points_max": result.maximum, "points": result.points, "discount": str(discount),
        "to_pay": str(total - discount),
        "earns": {scenario: result.earned(scenario) for scenario in result.decisions},
        "lines": [
            {"line": x.number, "sku": x.item.sku, "amount": str(x.item.amount), "points": x.points,
             "discount": str(x.discount), "to_pay": str(x.to_pay), "earns": x.earned}
            for x in result.lines
        ],
        "spend": [{"lot_id": d.lot_id, "line": d.line, "points": d.points, "campaign": d.pool} for d in result.draws],
        "campaigns": [
            {"campaign": d.campaign.reference, "name": d.campaign.public_name, "scenario": scenario,
             "applies": d.applied, "desired": d.desired, "points": d.granted, "by_line": d.by_line,
             "explanation": d.explain()}
            for scenario, decisions in result.decisions.items() for d in decisions
        ],
    }
    return json.dumps(answer).encode()
