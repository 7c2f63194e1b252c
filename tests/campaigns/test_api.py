"""The campaigns API: the types reference book, create → rules → lifecycle, versions, eligible members."""

import pytest

from kopilka.campaigns.models import Campaign

pytestmark = pytest.mark.django_db

BASE = "/api/v1/campaigns"
CAMPAIGN = {
    "code": "siberia-doctors",
    "name": "Врачи Сибири",
    "public_name": "Двойные баллы для врачей Сибири",
    "type": "promo",
    "starts_at": "2037-04-01T00:00:00+07:00",
    "months": 3,
    "rules": {
        "conditions": {"type": "all", "of": [
            {"type": "tags", "tags": ["doctor"]},
            {"type": "region", "federal_districts": ["Сибирский федеральный округ"]},
            {"type": "orders", "op": "lt", "value": 5},
        ]},
        "accrual": {"reward": "percent", "percent": "10"},
        "redemption": {"groups": ["fillers"], "coefficient": "2"},
        "expiry": {"kind": "end_of_month", "months": 2},
    },
}


@pytest.fixture
def api(caller_with):
    return caller_with("campaigns:read", "campaigns:write")


def test_reading_and_writing_need_their_scopes(caller_with, anonymous):
    assert anonymous.get(f"{BASE}/").status_code == 401
    assert caller_with("campaigns:read").post(f"{BASE}/", CAMPAIGN, key="c-1").status_code == 403
    assert caller_with("members:read").get(f"{BASE}/types").status_code == 403
    assert not Campaign.objects.exists()


def test_a_campaign_is_created_edited_into_versions_and_run_through_its_lifecycle(api):
    created = api.post(f"{BASE}/", CAMPAIGN, key="c-1")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["status"], body["ends_at"], body["version"]["reference"]) == (
        "draft", "2037-06-30T17:00:00Z", "siberia-doctors:v1",
    )

    assert api.post(f"{BASE}/siberia-doctors/activate", {"comment": "старт"}, key="c-2").json()["status"] == "active"
    rules = {**CAMPAIGN["rules"], "accrual": {"reward": "percent", "percent": "12"}}
    edited = api.write("put", f"{BASE}/siberia-doctors/rules", {"rules": rules, "comment": "12 %"}, key="c-3").json()
    paused = api.post(f"{BASE}/siberia-doctors/pause", {}, key="c-4").json()

    assert [v["rules"]["accrual"]["percent"] for v in edited["versions"]] == ["10", "12"]
    assert edited["version"]["reference"] == "siberia-doctors:v2"
    assert [(c["from_status"], c["to_status"], c["comment"]) for c in paused["status_changes"]] == [
        ("draft", "active", "старт"), ("active", "paused", ""),
    ]
    again = api.post(f"{BASE}/siberia-doctors/schedule", {}, key="c-5")
    assert (again.status_code, again.json()["code"]) == (409, "campaign_transition_refused")


def test_bad_rules_are_422_with_where(api):
    bad = {**CAMPAIGN, "rules": {"accrual": {"reward": "percent", "percent": "-5"}}}

    response = api.post(f"{BASE}/", bad, key="c-1")

    assert response.status_code == 422
    assert response.json()["code"] == "campaign_rules_invalid"
    assert response.json()["details"]["problems"][0]["location"] == ["accrual", "percent"]


def test_the_types_reference_book_can_grow(api):
    response = api.put(f"{BASE}/types/partner", {"name": "Партнёрская", "lot_category": "promo"}, key="t-1")
    unknown = api.put(f"{BASE}/types/weird", {"name": "Странная", "lot_category": "debt"}, key="t-2")

    assert response.status_code == 201
    assert unknown.status_code == 422
    assert [t["code"] for t in api.get(f"{BASE}/types").json()] == ["base", "compensation", "partner", "promo"]


def test_the_eligible_count_is_live(api, programme):
    api.post(f"{BASE}/", CAMPAIGN, key="c-1")

    eligible = api.get(f"{BASE}/siberia-doctors/eligible").json()

    assert eligible == {"count": 1, "sample": [programme["anna"].pk], "control_group": 0, "held_out": 0,
                        "offered": 1}


def test_the_eligible_count_says_how_many_a_promo_campaign_holds_out(api, programme):
    from decimal import Decimal

    from kopilka.campaigns import holdout

    api.post(f"{BASE}/", {**CAMPAIGN, "rules": {**CAMPAIGN["rules"], "conditions": None, "holdout_percent": "50"}},
             key="c-1")
    held = sum(holdout.held_out(m.pk, "siberia-doctors", Decimal(50)) for m in programme.values())

    eligible = api.get(f"{BASE}/siberia-doctors/eligible").json()

    assert (eligible["count"], eligible["control_group"], eligible["held_out"], eligible["offered"]) == (
        5, 0, held, 5 - held)
