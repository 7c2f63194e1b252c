"""The campaign builder: rows become a typed condition tree and back, the live count, the preview, saving (a new
version once live) and the lifecycle actions, each audited."""

from datetime import timedelta

import pytest
from django.test import Client

from kopilka.backoffice.campaign_form import conditions_of, initial_of
from kopilka.campaigns.models import Campaign, CampaignType
from kopilka.catalog.services import upsert_group, upsert_products
from kopilka.core import clock
from kopilka.core.models import AuditEvent
from kopilka.customers import services as members
from kopilka.customers.models import Region

pytestmark = pytest.mark.django_db


@pytest.fixture
def marketer(staff):
    client = Client(HTTP_ACCEPT_LANGUAGE="ru")
    client.force_login(staff("marketer"))
    return client


@pytest.fixture
def scene(db):
    upsert_group(code="fillers", name="Филлеры")
    upsert_products([{"sku": "F-1", "name": "Филлер", "price": "10000", "group": "fillers"}])
    region = Region.objects.filter(code="54").first()
    in_region = members.create_member(actor="t", last_name="Новосибирская", region_code="54")
    members.create_member(actor="t", last_name="Московская", region_code="77")
    return {"member": in_region, "region": region}


def form(**changes) -> dict:
    data = {
        "code": "nsk-fillers", "name": "Филлеры в Новосибирске", "public_name": "", "type": "promo",
        "starts_at": (clock.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"), "ends_at": "",
        "priority": "150", "combination": "stack", "budget_points": "", "join": "all", "conditions_json": "",
        "c0_kind": "region", "c0_value": "54", "c0_op": "ge", "reward": "percent", "percent": "10",
        "roubles_per_point": "1", "multiplier": "1", "include_groups": "fillers", "exclude_groups": "",
        "min_order": "0", "scenario": "payment", "pending_days": "0", "spend_groups": "fillers", "coefficient": "1",
        "expiry_kind": "days", "expiry_days": "90",
    }
    data.update(changes)
    return data


def test_rows_make_a_tree_and_a_tree_makes_the_rows_again():
    data = {"join": "any", "c0_kind": "region", "c0_value": "54, 77", "c1_kind": "orders", "c1_op": "lt",
            "c1_value": "3", "c1_days": 90, "c2_kind": "tags", "c2_value": "vip", "c2_not": True}
    tree = conditions_of(data)
    assert tree == {"type": "any", "of": [
        {"type": "region", "regions": ["54", "77"]},
        {"type": "orders", "op": "lt", "value": "3", "within_days": 90},
        {"type": "not", "of": {"type": "tags", "tags": ["vip"]}},
    ]}
    campaign = Campaign(code="x", name="x", public_name="x", starts_at=clock.now(), priority=1, combination="stack",
                        type=CampaignType(code="promo", name="promo"))
    nested = {"type": "all", "of": [{"type": "any", "of": [{"type": "tier", "tiers": ["gold"]}]}]}
    assert initial_of(campaign, {"conditions": tree})["c2_not"] is True
    assert '"any"' in initial_of(campaign, {"conditions": nested})["conditions_json"]  # edited as JSON


def test_the_live_count_follows_the_conditions(marketer, scene):
    answer = marketer.post("/office/campaign-eligible/", form()).json()
    assert answer == {"count": 1}
    assert marketer.post("/office/campaign-eligible/", form(c0_kind="")).json() == {"count": 2}
    assert "error" in marketer.post("/office/campaign-eligible/", form(conditions_json="{not json")).json()


def test_a_marketer_previews_saves_and_activates_a_campaign(marketer, scene):
    shown = marketer.post("/office/campaign-new/", {**form(), "preview": "1", "preview_member": scene["member"].pk,
                                                    "preview_cart": "F-1 x 2"})
    text = shown.content.decode()
    assert shown.status_code == 200 and "2000" in text and not Campaign.objects.exists()
    saved = marketer.post("/office/campaign-new/", {**form(), "save": "1"})
    assert saved.status_code == 302
    campaign = Campaign.objects.get(code="nsk-fillers")
    rules = campaign.versions.get().rules
    assert rules["conditions"] == {"type": "region", "regions": ["54"], "federal_districts": []}
    assert rules["accrual"]["include_groups"] == ["fillers"] and rules["expiry"]["days"] == 90
    assert marketer.post("/office/campaigns/nsk-fillers/activate/").status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == "active"
    again = marketer.post("/office/campaigns/nsk-fillers/", {**form(percent="12"), "save": "1"})
    assert again.status_code == 302 and campaign.versions.count() == 2  # live rules are frozen: a new version
    said = [str(m) for m in marketer.get(again["Location"]).context["messages"]]
    assert said[-1:] == ["Кампания nsk-fillers сохранена. Её правила уже действовали, поэтому новые правила — "
                         "версия 2; начисленное остаётся по той версии, по которой начислено."]
    campaign_events = AuditEvent.objects.filter(action__startswith="campaign.").order_by("id")
    assert list(campaign_events.values_list("action", flat=True)) == [
        "campaign.created", "campaign.active", "campaign.rules_changed"]


def test_invalid_rules_are_shown_on_the_form_and_nothing_is_saved(marketer, scene):
    page = marketer.post("/office/campaign-new/", {**form(percent=""), "save": "1"})
    assert page.status_code == 200 and "errorlist" in page.content.decode()
    assert not Campaign.objects.exists()


def test_a_refused_move_is_explained(marketer, scene):
    marketer.post("/office/campaign-new/", {**form(), "save": "1"})
    page = marketer.post("/office/campaigns/nsk-fillers/pause/", follow=True)
    assert page.status_code == 200 and Campaign.objects.get().status == "draft"
    assert "message error" in page.content.decode()


def test_editing_keeps_what_the_form_does_not_show(marketer, scene):
    from kopilka.campaigns import services

    services.create_campaign(code="tiered", name="Базовая", type="base", starts_at=clock.now(), actor="t", rules={
        "accrual": {"reward": "percent", "percent": "3", "tier_percents": {"gold": "7"},
                    "member_limit": {"points": 5000, "period": "month"}}})
    page = marketer.get("/office/campaigns/tiered/").content.decode()
    assert 'value="3' in page
    saved = marketer.post("/office/campaigns/tiered/", {**form(code="tiered", type="base", percent="4", c0_kind="",
                                                              include_groups="", spend_groups=""), "save": "1"})
    assert saved.status_code == 302
    accrual = Campaign.objects.get(code="tiered").versions.order_by("-number").first().rules["accrual"]
    assert accrual["percent"] == "4"
    assert accrual["tier_percents"] == {"gold": "7"} and accrual["member_limit"] == {"points": 5000, "period": "month"}


@pytest.mark.parametrize("leaf", [
    {"type": "region", "regions": ["54"], "federal_districts": ["Сибирский"]},
    {"type": "purchased", "skus": ["F-1"], "groups": []},
    {"type": "tags", "tags": ["vip", "doctor"], "match": "all"},
])
def test_a_condition_the_rows_cannot_show_whole_is_edited_as_json(leaf):
    campaign = Campaign(code="x", name="x", public_name="x", starts_at=clock.now(), priority=1, combination="stack",
                        type=CampaignType(code="promo", name="promo"))
    initial = initial_of(campaign, {"conditions": leaf})
    assert "conditions_json" in initial and "c0_kind" not in initial
