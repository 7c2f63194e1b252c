"""The campaign builder: the condition tree round-trips through the form, the live counts (in total and per
group), the preview, saving (a new version once live) and the lifecycle actions, each audited."""

import json
from datetime import timedelta

import pytest
from django.test import Client

from kopilka.backoffice.campaign_form import CampaignForm, initial_of
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


IN_54 = {"type": "region", "regions": ["54"], "federal_districts": []}


def form(**changes) -> dict:
    data = {
        "code": "nsk-fillers", "name": "Филлеры в Новосибирске", "public_name": "", "type": "promo",
        "starts_at": (clock.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"), "ends_at": "",
        "priority": "150", "combination": "stack", "budget_points": "",
        "conditions_json": json.dumps(IN_54), "reward": "percent", "percent": "10",
        "roubles_per_point": "1", "multiplier": "1", "include_groups": "fillers", "exclude_groups": "",
        "min_order": "0", "scenario": "payment", "pending_days": "0", "spend_groups": "fillers", "coefficient": "1",
        "expiry_kind": "days", "expiry_days": "90",
    }
    data.update(changes)
    return data


def _campaign() -> Campaign:
    return Campaign(code="x", name="x", public_name="x", starts_at=clock.now(), priority=1, combination="stack",
                    type=CampaignType(code="promo", name="promo"))


@pytest.mark.parametrize("tree", [
    None,
    IN_54,
    {"type": "not", "of": {"type": "not", "of": {"type": "tags", "tags": ["vip"], "match": "all"}}},
    {"type": "any", "of": [
        {"type": "all", "of": [{"type": "tags", "tags": ["doctor"], "match": "any"},
                               {"type": "region", "regions": [], "federal_districts": ["Сибирский федеральный округ"]},
                               {"type": "orders", "op": "lt", "value": 5, "within_days": None}]},
        {"type": "all", "of": [{"type": "city", "cities": ["77:Москва"]}, {"type": "million_plus"}]},
    ]},
])
def test_a_stored_tree_comes_back_from_the_form_exactly(db, tree):
    initial = initial_of(_campaign(), {"conditions": tree})
    bound = CampaignForm({**form(conditions_json=initial["conditions_json"]), "code": "x"})
    assert bound.is_valid(), bound.errors
    assert bound.cleaned_data["conditions"] == tree


def test_a_tree_that_does_not_parse_is_the_fields_error(db):
    bound = CampaignForm(form(conditions_json='{"type": "orders", "op": "about", "value": 1}'))
    assert not bound.is_valid() and "conditions_json" in bound.errors


def test_the_live_count_follows_the_conditions_in_total_and_per_group(marketer, scene):
    assert marketer.post("/office/campaign-eligible/", form()).json() == {"count": 1, "groups": []}
    assert marketer.post("/office/campaign-eligible/", form(conditions_json="")).json() == {"count": 2, "groups": []}
    either = {"type": "any", "of": [IN_54, {"type": "region", "regions": ["77"], "federal_districts": []}]}
    nobody = {"type": "all", "of": [IN_54, {"type": "member_kind", "kind": "legal_entity"}]}
    answer = marketer.post("/office/campaign-eligible/", form(conditions_json=json.dumps(either),
                                                              groups_json=json.dumps([either, nobody]))).json()
    assert answer == {"count": 2, "groups": [2, 0]}
    assert "error" in marketer.post("/office/campaign-eligible/", form(conditions_json="{not json")).json()
    assert "error" in marketer.post("/office/campaign-eligible/", form(groups_json="[{}]")).json()
    assert "error" in marketer.post("/office/campaign-eligible/", form(groups_json=json.dumps([None] * 31))).json()


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
    saved = marketer.post("/office/campaigns/tiered/", {**form(code="tiered", type="base", percent="4",
                                                              conditions_json="",
                                                              include_groups="", spend_groups=""), "save": "1"})
    assert saved.status_code == 302
    accrual = Campaign.objects.get(code="tiered").versions.order_by("-number").first().rules["accrual"]
    assert accrual["percent"] == "4"
    assert accrual["tier_percents"] == {"gold": "7"} and accrual["member_limit"] == {"points": 5000, "period": "month"}
