"""Campaigns: creation with validated rules, versions frozen once live, the lifecycle and its schedule."""

from datetime import UTC, datetime, timedelta

import pytest

from kopilka.campaigns import services
from kopilka.campaigns.errors import RulesInvalid, TransitionRefused
from kopilka.campaigns.models import Campaign, CampaignStatusChange, CampaignVersion
from kopilka.core.errors import ValidationFailed

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
RULES = {
    "conditions": {"type": "tags", "tags": ["doctor"]},
    "accrual": {"reward": "percent", "percent": "5"},
    "expiry": {"kind": "days", "days": 180},
}


def make(code="spring", **fields):
    fields.setdefault("name", "Весна")
    fields.setdefault("type", "promo")
    fields.setdefault("starts_at", T0)
    fields.setdefault("rules", RULES)
    return services.create_campaign(code=code, actor="user:marketer", **fields)


def test_a_new_campaign_is_a_draft_with_version_one_of_its_rules():
    campaign = make(months=3, public_name="Весенние баллы")

    assert (campaign.status, campaign.ends_at, campaign.public_name) == ("draft", datetime(2026, 7, 1, 9, tzinfo=UTC),
                                                                         "Весенние баллы")
    (version,) = campaign.versions.all()
    assert (version.number, version.reference, version.went_live_at) == (1, "spring:v1", None)
    assert version.rules["accrual"]["percent"] == "5"
    assert version.rules["expiry"] == {"kind": "days", "days": 180, "months": 0, "date": None}


@pytest.mark.parametrize(
    "rules",
    [
        {"accrual": {"reward": "percent"}},
        {"accrual": {"reward": "fixed", "points": 100, "scenario": "event"}},
        {"accrual": {"reward": "percent", "percent": "120"}},
        {"expiry": {"kind": "fixed_date"}},
        {"conditions": {"type": "orders", "op": "less", "value": 5}},
        {"redemption": {"coefficient": "0"}},
        {"surprise": True},
    ],
)
def test_invalid_rules_are_refused_with_where_and_nothing_is_created(rules):
    with pytest.raises(RulesInvalid) as refused:
        make(rules=rules)

    assert refused.value.details["problems"]
    assert not Campaign.objects.exists()


def test_a_period_ending_before_it_starts_and_an_unknown_type_are_refused():
    with pytest.raises(ValidationFailed):
        make(ends_at=T0 - timedelta(days=1))
    with pytest.raises(ValidationFailed):
        make(type="lottery")
    assert not Campaign.objects.exists()


def test_draft_rules_are_edited_in_place_and_live_rules_are_frozen_into_versions():
    make()
    services.update_rules(code="spring", rules={**RULES, "accrual": {"reward": "percent", "percent": "7"}},
                          actor="user:marketer")
    assert CampaignVersion.objects.count() == 1

    services.change_status(code="spring", action="activate", actor="user:marketer", now=T0)
    second = services.update_rules(code="spring", rules={**RULES, "accrual": {"reward": "percent", "percent": "10"}},
                                   actor="user:marketer", comment="больше баллов")

    versions = {v.number: v for v in CampaignVersion.objects.all()}
    assert versions[1].rules["accrual"]["percent"] == "7"
    assert (second.number, second.went_live_at is not None, second.comment) == (2, True, "больше баллов")


def test_the_lifecycle_moves_only_along_its_arrows_and_records_who_and_why():
    make(starts_at=T0 + timedelta(days=10))
    services.change_status(code="spring", action="schedule", actor="user:m", now=T0)
    services.change_status(code="spring", action="activate", actor="user:m", now=T0)
    services.change_status(code="spring", action="pause", actor="user:m", comment="жалобы", now=T0)

    with pytest.raises(TransitionRefused):
        services.change_status(code="spring", action="schedule", actor="user:m", now=T0)
    services.change_status(code="spring", action="finish", actor="user:m", now=T0)
    with pytest.raises(TransitionRefused):
        services.change_status(code="spring", action="activate", actor="user:m", now=T0)
    with pytest.raises(TransitionRefused):
        services.update_rules(code="spring", rules=RULES, actor="user:m")

    assert list(CampaignStatusChange.objects.values_list("from_status", "to_status", "actor", "comment")) == [
        ("draft", "scheduled", "user:m", ""),
        ("scheduled", "active", "user:m", ""),
        ("active", "paused", "user:m", "жалобы"),
        ("paused", "finished", "user:m", ""),
    ]


def test_a_campaign_whose_start_passed_cannot_be_scheduled_and_one_whose_end_passed_cannot_start():
    make(ends_at=T0 + timedelta(days=1))

    with pytest.raises(TransitionRefused):
        services.change_status(code="spring", action="schedule", actor="u", now=T0 + timedelta(hours=1))
    with pytest.raises(TransitionRefused):
        services.change_status(code="spring", action="activate", actor="u", now=T0 + timedelta(days=2))
    assert Campaign.objects.get().status == "draft"


def test_the_schedule_starts_and_finishes_campaigns_once():
    make("early", starts_at=T0 + timedelta(hours=1), ends_at=T0 + timedelta(days=1))
    make("later", starts_at=T0 + timedelta(days=5))
    for code in ("early", "later"):
        services.change_status(code=code, action="schedule", actor="u", now=T0)

    assert services.advance_schedule(T0 + timedelta(hours=2)) == {"started": 1, "finished": 0}
    assert services.advance_schedule(T0 + timedelta(hours=2)) == {"started": 0, "finished": 0}
    assert services.advance_schedule(T0 + timedelta(days=6)) == {"started": 1, "finished": 1}
    assert dict(Campaign.objects.values_list("code", "status")) == {"early": "finished", "later": "active"}
    assert CampaignVersion.objects.filter(went_live_at__isnull=False).count() == 2
