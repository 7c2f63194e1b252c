"""The OpenAPI document integrators read: every router is in it, request bodies with their fields and limits."""

import pytest
from django.test import Client


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
