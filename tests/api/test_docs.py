"""The OpenAPI document integrators read: every router is in it, request bodies with their fields and limits."""

import json

import pytest
from django.test import Client

from kopilka.api.hostile import MAX_TEXT_LENGTH


@pytest.mark.django_db
def test_the_openapi_document_describes_the_purchase_flow():
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    paths = document["paths"]
    for path in ("/api/v1/purchases/evaluate", "/api/v1/members/", "/api/v1/ledger/{member_id}/spend"):
        assert any(p.startswith(path.split("{")[0]) for p in paths), path
    body = paths["/api/v1/purchases/evaluate"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    cart = document["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
    assert {"member", "lines", "points"} <= set(cart["properties"])
    line = document["components"]["schemas"]["LineIn"]
    assert line["properties"]["sku"]["maxLength"] == 64
    assert Client().get("/api/v1/docs").status_code == 200


BOUNDED = {"enum", "const", "format"}


def unbounded_strings(node, where: str, components: dict, seen: set[str]):
    """Where under `node` (each component followed once) a string has no maxLength and no enum, const or format
    to bound it."""
    if isinstance(node, list):
        for n, item in enumerate(node):
            yield from unbounded_strings(item, f"{where}[{n}]", components, seen)
        return
    if not isinstance(node, dict):
        return
    if ref := node.get("$ref"):
        name = ref.rsplit("/", 1)[1]
        if name not in seen:
            seen.add(name)
            yield from unbounded_strings(components[name], name, components, seen)
    kinds = node.get("type")
    if (kinds == "string" or isinstance(kinds, list) and "string" in kinds) and not BOUNDED & node.keys():
        if "maxLength" not in node:
            yield where
    for key, value in node.items():
        if key != "not":
            yield from unbounded_strings(value, f"{where}.{key}", components, seen)


@pytest.mark.django_db
def test_every_string_a_request_sends_states_its_longest():
    """A body's or query's string without maxLength would reach a column it may not fit (a 500 on PostgreSQL)."""
    document = Client().get("/api/v1/openapi.json").json()
    components = document["components"]["schemas"]
    seen: set[str] = set()
    found = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            found += unbounded_strings(operation.get("requestBody"), f"{method} {path} body", components, seen)
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query":
                    where = f"{method} {path} ?{parameter['name']}"
                    found += unbounded_strings(parameter["schema"], where, components, seen)

    assert found == []
    assert {"CampaignIn", "TypeIn", "MemberIn", "ProductIn", "GroupIn", "PlainJson"} <= seen
    assert components["CampaignIn"]["properties"]["name"]["maxLength"] == 200
    assert components["TypeIn"]["properties"]["name"]["maxLength"] == 120
    assert components["PlainJson"]["anyOf"][4]["maxLength"] == MAX_TEXT_LENGTH


def test_the_published_document_names_each_key_once():
    """JSON parsers keep the last of two equal keys, YAML parsers (Swagger UI's) refuse the document: no object of
    the schema may name a key twice (each error status was once listed by number and again as text)."""
    repeated = []

    def pairs(found):
        keys = [key for key, _value in found]
        repeated.extend(key for key in set(keys) if keys.count(key) > 1)
        return dict(found)

    json.loads(Client().get("/api/v1/openapi.json").content, object_pairs_hook=pairs)
    assert repeated == []
