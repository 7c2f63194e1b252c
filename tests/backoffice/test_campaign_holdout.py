"""The control group in the back office: a marketer changes a live promo campaign's share on its form (a new
version), sees whom it holds out now, is refused one on a base campaign; the results page compares exposed and
held-out members (the story of tests/campaigns/test_holdout_results.py)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client

from kopilka.campaigns import holdout
from kopilka.campaigns.holdout_results import compare
from kopilka.campaigns.models import Campaign
from kopilka.campaigns.results import Period
from kopilka.core import clock
from kopilka.customers.models import Member
from tests.backoffice.test_campaign_builder import form
from tests.campaigns.test_holdout_results import holdout_story
from tests.factories import live_campaign

pytestmark = pytest.mark.django_db


@pytest.fixture
def marketer(staff):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(staff("marketer"))
    return client


def _saved_form(code: str, type: str, **changes) -> dict:
    return {**form(code=code, type=type, conditions_json="", include_groups="", spend_groups="", **changes),
            "save": "1"}


def test_a_marketer_changes_the_share_of_a_live_promo_campaign_and_sees_whom_it_holds_out(marketer):
    _, people = holdout_story()
    saved = marketer.post("/office/campaigns/spring/", _saved_form("spring", "promo", holdout_percent="25"),
                          follow=True)
    text = saved.content.decode()

    versions = Campaign.objects.get(code="spring").versions.order_by("number")
    assert [v.rules.get("holdout_percent") for v in versions] == ["50", "25"]
    held = sum(holdout.held_out(m.pk, "spring", Decimal(25)) for m in Member.objects.all())
    assert 'name="holdout_percent" value="25' in text
    assert (f"As saved, of {Member.objects.count()} eligible members now: 0 in the programme's control group "
            f"this month, {held} held out by this campaign, {Member.objects.count() - held} get the offer.") in text


def test_a_base_campaign_refuses_a_control_group_and_keeps_its_rules(marketer):
    live_campaign("base", {"accrual": {"reward": "percent", "percent": "5"}}, type="base")
    before = list(Campaign.objects.get(code="base").versions.values_list("number", "rules"))

    page = marketer.post("/office/campaigns/base/", _saved_form("base", "base", holdout_percent="10"))

    assert page.status_code == 200
    assert "Only a promo campaign holds out a control group" in page.content.decode()
    assert list(Campaign.objects.get(code="base").versions.values_list("number", "rules")) == before


def test_the_results_page_compares_exposed_and_held_out_members(marketer):
    campaign, _ = holdout_story()
    today = clock.local_date(clock.now())
    period = Period(today - timedelta(days=10), today)
    found = compare(campaign, period)

    page = marketer.get(f"/office/campaigns/spring/results/?start={period.start}&end={period.end}&effect=30")
    text = page.content.decode()

    e, c = found.exposed, found.held_out
    assert "Exposed vs held out" in text
    assert f"<th scope=\"row\">members</th><td>{e.members}</td><td>{c.members}</td>" in text
    assert f"<th scope=\"row\">converted (bought in the period)</th><td>{e.converted}</td><td>{c.converted}</td>" \
        in text
    assert "These groups detect a difference in conversion of" in text
