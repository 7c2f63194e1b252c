"""UR over HTTP, whole or cut by campaign, point category, region or member kind (the hand-worked March of
tests/ledger/test_utilization.py)."""

import pytest

from kopilka.campaigns import services as campaigns

from ..ledger.conftest import T0
from ..ledger.test_utilization import MARCH, march_story

URL = "/api/v1/ledger/utilization"
PERIOD = {"since": MARCH[0].isoformat(), "until": MARCH[1].isoformat()}


@pytest.fixture
def reader(caller_with):
    return caller_with("ledger:read")


def test_ur_cut_by_campaign_names_each_campaign_and_adds_up_to_the_total(reader):
    march_story()
    campaigns.create_campaign(code="spring", name="Весна", type="base", starts_at=T0, actor="t",
                              rules={"accrual": {"reward": "percent", "percent": "5"}})
    response = reader.get(URL, {**PERIOD, "by": "campaign"})
    assert response.status_code == 200
    assert response.json() == {
        "since": "2026-03-01T09:00:00Z", "until": "2026-03-31T09:00:00Z", "basis": "flow",
        "accrued": 370, "spent": 190, "burned": 50, "utilization_rate": "0.5135",
        "limiting_utilization_rate": "0.8649", "by": "campaign",
        "segments": [
            {"segment": "autumn", "name": "", "accrued": 50, "spent": 50, "burned": 0,
             "utilization_rate": "1.0000", "limiting_utilization_rate": "1.0000"},
            {"segment": "spring", "name": "Весна", "accrued": 100, "spent": 80, "burned": 50,
             "utilization_rate": "0.8000", "limiting_utilization_rate": "0.5000"},
            {"segment": None, "name": "", "accrued": 220, "spent": 60, "burned": 0,
             "utilization_rate": "0.2727", "limiting_utilization_rate": "1.0000"},
        ],
    }


def test_ur_by_region_member_kind_and_category_in_the_readers_language(reader):
    march_story()
    by_region = reader.get(URL, {**PERIOD, "by": "region"}).json()["segments"]
    assert [(s["segment"], s["name"], s["accrued"], s["spent"], s["burned"]) for s in by_region] == [
        ("77", "Москва", 150, 100, 50), ("78", "Санкт-Петербург", 210, 60, 0), (None, "", 10, 30, 0)]
    by_kind = reader.get(URL, {**PERIOD, "by": "member_kind"}).json()["segments"]
    assert [(s["segment"], s["name"], s["utilization_rate"]) for s in by_kind] == [
        ("individual", "individual", "0.8125"), ("legal_entity", "legal entity", "0.2857")]
    cohort = reader.get(URL, {**PERIOD, "by": "category", "basis": "cohort"}).json()
    assert [(s["segment"], s["accrued"], s["spent"], s["burned"]) for s in cohort["segments"]] == [
        ("base", 280, 170, 50), ("compensation", 40, 40, 0), ("promo", 50, 80, 0)]
    assert (cohort["accrued"], cohort["spent"], cohort["burned"]) == (370, 290, 50)


def test_ur_without_a_cut_answers_as_before(reader):
    march_story()
    whole = reader.get(URL, PERIOD).json()
    assert (whole["accrued"], whole["spent"], whole["burned"], whole["by"], whole["segments"]) == (
        370, 190, 50, None, [])


@pytest.mark.parametrize("params, code", [
    ({**PERIOD, "by": "tier"}, "validation_error"),
    ({**PERIOD, "basis": "stock"}, "validation_error"),
    ({"since": PERIOD["until"], "until": PERIOD["since"], "by": "region"}, "invalid_period"),
])
def test_a_bad_cut_is_refused_with_a_coded_error(reader, params, code):
    response = reader.get(URL, params)
    assert (response.status_code, response.json()["code"]) == (422, code)


def test_the_cut_needs_the_ledger_read_scope(caller_with):
    response = caller_with("members:read").get(URL, {**PERIOD, "by": "region"})
    assert (response.status_code, response.json()["code"]) == (403, "forbidden")


def test_the_published_schema_lists_the_cuts(db, anonymous):
    document = anonymous.get("/api/v1/openapi.json").json()
    parameters = {p["name"]: p["schema"] for p in document["paths"][URL]["get"]["parameters"]}
    by = parameters["by"]
    assert [option.get("enum") for option in by["anyOf"] if "enum" in option] == [
        ["campaign", "category", "region", "member_kind"]]
    assert parameters["basis"]["enum"] == ["flow", "cohort"]
