"""Hostile input under /api/ is refused in the API's one error shape, never answered 500 or as an HTML page."""

import json

import pytest

from kopilka.api import hostile
from kopilka.api.middleware import MAX_BODY_BYTES
from kopilka.campaigns.models import Campaign, CampaignType
from kopilka.core.models import SCOPES
from kopilka.tiers.models import Tier

pytestmark = pytest.mark.django_db


@pytest.fixture
def full(caller_with):
    return caller_with(*SCOPES)


def shape(response) -> dict:
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    body = response.json()
    assert set(body) == {"code", "message", "details"} and body["message"], body
    return body


def send(caller, method: str, path: str, body: bytes, content_type: str = "application/json"):
    send = getattr(caller.client, method)
    return send(path, body, content_type=content_type, HTTP_IDEMPOTENCY_KEY="k-1", **caller.headers)


@pytest.mark.parametrize("path", [
    "/api/v1/campaigns/?status=%00", "/api/v1/catalog/products?group=a%00b", "/api/v1/members/?q=%1f",
    "/api/v1/purchases/banners?sku=%7f", "/api/v1/members/%00", "/api/v1/campaigns/%C2%85",
])
def test_control_characters_in_a_query_or_path_are_refused_with_422(full, path):
    response = full.get(path)

    assert (response.status_code, shape(response)["code"]) == (422, "invalid_characters")


def test_invalid_utf8_in_a_query_is_refused_with_400(full):
    response = full.get("/api/v1/members/?q=%ff%fe")

    assert (response.status_code, shape(response)["code"]) == (400, "invalid_encoding")


@pytest.mark.parametrize("path", ["/api/v1/members/null,null", "/api/v1/nowhere", "/api/v1/ledger/accounts/x/y"])
def test_an_unknown_or_malformed_path_is_a_json_404(full, path):
    response = full.get(path)

    assert (response.status_code, shape(response)["code"]) == (404, "not_found")


def test_a_method_a_route_does_not_take_is_a_json_405_with_allow(full):
    response = full.client.delete("/api/v1/members/", **full.headers)

    assert (response.status_code, shape(response)["code"]) == (405, "method_not_allowed")
    assert "GET" in response["Allow"]


def test_an_oversized_body_is_413(full):
    body = json.dumps({"last_name": "x" * (MAX_BODY_BYTES + 1)}).encode()

    response = send(full, "post", "/api/v1/members/", body)

    assert (response.status_code, shape(response)["code"]) == (413, "request_too_large")


@pytest.mark.parametrize("depth", [hostile.MAX_DEPTH + 1, 100_000])
def test_deep_json_is_400(full, depth):
    body = ("[" * depth + "]" * depth).encode()

    response = send(full, "post", "/api/v1/members/", b'{"a": ' + body + b"}")

    assert (response.status_code, shape(response)["code"]) == (400, "too_deep")


@pytest.mark.parametrize("path", [
    "/api/v1/members/435336256069249011155992576", "/api/v1/ledger/members/9223372036854775808/balance",
    "/api/v1/purchases/-9223372036854775809", "/api/v1/members/" + "9" * 5000,
])
def test_an_id_outside_64_bits_in_a_path_is_422(full, path):
    read = full.get(path)
    write = send(full, "post", "/api/v1/ledger/members/435336256069249011155992576/accruals", b'{"points": 150}')

    assert (read.status_code, shape(read)["code"]) == (422, "number_out_of_range")
    assert (write.status_code, shape(write)["code"]) == (422, "number_out_of_range")


def test_the_biggest_id_is_only_not_found(full):
    response = full.get("/api/v1/ledger/members/9223372036854775807/balance")

    assert response.status_code == 404, response.content


@pytest.mark.parametrize("number", [b"1" + b"0" * 19, b"9" * 5000, b"1e999", b"NaN", b"-Infinity", b"0." + b"1" * 60])
def test_huge_or_infinite_numbers_are_422(full, number):
    response = send(full, "post", "/api/v1/members/", b'{"last_name": "A", "points": ' + number + b"}")

    assert (response.status_code, shape(response)["code"]) == (422, "number_out_of_range")


@pytest.mark.parametrize("text", ["a\u0000b", "\u0007", "\u009b", "\ud800"])
def test_control_characters_in_a_json_string_or_key_are_422(full, text):
    for body in ({"last_name": text}, {text: 1}, {"lines": [{"sku": text}]}):
        response = send(full, "post", "/api/v1/members/", json.dumps(body).encode())

        assert (response.status_code, shape(response)["code"]) == (422, "invalid_characters")


def test_the_refusal_says_where(full):
    response = send(full, "post", "/api/v1/purchases/", json.dumps({"lines": [{"sku": "A\u0000"}]}).encode())

    assert shape(response)["details"] == {"location": ["body", "lines", "0", "sku"]}


@pytest.mark.parametrize("body", [b'{"last_name": "\xff"}', b"\xc3\x28", b"{\"a\": 1"])
def test_invalid_utf8_or_malformed_json_is_400(full, body):
    response = send(full, "post", "/api/v1/members/", body)

    assert response.status_code == 400
    assert shape(response)["code"] in {"invalid_encoding", "malformed_json"}


def test_a_nul_in_the_idempotency_key_is_422(full):
    response = full.client.post("/api/v1/members/", "{}", content_type="application/json",
                                HTTP_IDEMPOTENCY_KEY="a\x00b", **full.headers)

    assert (response.status_code, shape(response)["code"]) == (422, "invalid_characters")


def test_tabs_and_newlines_are_ordinary_text():
    assert hostile.check_json(json.dumps({"note": "a\tb\r\nc", "name": "Ёлка 🎄"}).encode()) is None
    assert hostile.check_query("q=%D0%81%09x") is None


def test_the_refusal_is_in_russian_for_a_russian_client(full):
    response = full.client.get("/api/v1/members/?q=%00", HTTP_AUTHORIZATION=full.headers["HTTP_AUTHORIZATION"],
                               HTTP_ACCEPT_LANGUAGE="ru")

    assert shape(response)["message"] == "В запросе есть нулевой байт или другой управляющий символ."


def test_paths_outside_the_api_are_untouched(client):
    assert "text/html" in client.get("/office/nowhere/")["Content-Type"]


CAMPAIGN = {"code": "long-names", "name": "Весна", "type": "promo", "starts_at": "2037-04-01T00:00:00+03:00",
            "rules": {}}


@pytest.mark.postgres
@pytest.mark.parametrize("method, path, body, where", [
    ("post", "/api/v1/campaigns/", {**CAMPAIGN, "name": "Я" * 201}, ["body", "body", "name"]),
    ("post", "/api/v1/campaigns/", {**CAMPAIGN, "public_name": "Я" * 201}, ["body", "body", "public_name"]),
    ("put", "/api/v1/campaigns/types/long", {"name": "Я" * 121, "lot_category": "promo"}, ["body", "body", "name"]),
    ("put", "/api/v1/tiers/" + "a" * 41, {"name": "Медь", "rank": 7}, ["path", "code"]),
])
def test_text_longer_than_its_column_is_422_naming_the_field_not_a_database_error(full, method, path, body, where):
    types = list(CampaignType.objects.values_list("code", "name"))

    response = send(full, method, path, json.dumps(body).encode())

    assert (response.status_code, shape(response)["code"]) == (422, "validation_error"), response.content
    assert [field["location"] for field in response.json()["details"]["fields"]] == [where]
    assert (Campaign.objects.count(), Tier.objects.count()) == (0, 0)
    assert list(CampaignType.objects.values_list("code", "name")) == types


@pytest.mark.postgres
def test_a_campaign_renamed_beyond_its_column_is_422_and_keeps_its_name(full):
    assert send(full, "post", "/api/v1/campaigns/", json.dumps(CAMPAIGN).encode()).status_code == 201

    response = full.client.patch("/api/v1/campaigns/long-names", json.dumps({"name": "Я" * 201}),
                                 content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-2", **full.headers)

    assert (response.status_code, shape(response)["code"]) == (422, "validation_error"), response.content
    assert Campaign.objects.get().name == "Весна"


@pytest.mark.parametrize("rules", [{"note": "я" * (hostile.MAX_TEXT_LENGTH + 1)},
                                   {"tags": ["a", "я" * (hostile.MAX_TEXT_LENGTH + 1)]},
                                   {"я" * (hostile.MAX_TEXT_LENGTH + 1): 1}])
def test_free_json_text_longer_than_the_limit_is_422_and_says_where(full, rules):
    response = send(full, "post", "/api/v1/campaigns/", json.dumps({**CAMPAIGN, "rules": rules}).encode())

    assert (response.status_code, shape(response)["code"]) == (422, "text_too_long")
    assert response.json()["details"]["location"][:2] == ["body", "rules"]
    at_the_limit = {**CAMPAIGN, "rules": {"note": "я" * hostile.MAX_TEXT_LENGTH}}
    assert shape(send(full, "post", "/api/v1/campaigns/", json.dumps(at_the_limit).encode()))["code"] != "text_too_long"


def test_text_too_long_is_refused_in_the_callers_language(full):
    ru = {"HTTP_AUTHORIZATION": full.headers["HTTP_AUTHORIZATION"], "HTTP_ACCEPT_LANGUAGE": "ru",
          "HTTP_IDEMPOTENCY_KEY": "k-ru"}
    named = full.client.post("/api/v1/members/", json.dumps({"last_name": "Я" * 101}),
                             content_type="application/json", **ru)
    free = full.client.post("/api/v1/events/", json.dumps(
        {"member": {"id": 1}, "type": "custom", "details": {"name": "Я" * (hostile.MAX_TEXT_LENGTH + 1)}}),
        content_type="application/json", **ru)

    assert (named.status_code, shape(named)["message"]) == (422, "Запрос содержит некорректные данные.")
    assert [(f["location"], f["type"]) for f in named.json()["details"]["fields"]] == [
        (["body", "body", "last_name"], "string_too_long")]
    assert (free.status_code, shape(free)["message"]) == (
        422, f"Значение слишком длинное: максимальная длина — {hostile.MAX_TEXT_LENGTH}.")
