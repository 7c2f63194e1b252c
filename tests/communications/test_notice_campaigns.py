"""Campaign notices are promo offers: "started" and "ending in N days" go once per campaign to the members its
conditions select, less those it holds out and the programme's global control group, over a real SMTP server."""

from datetime import timedelta
from decimal import Decimal

import pytest

from kopilka.campaigns import holdout, selectors, services
from kopilka.communications.models import Message
from kopilka.communications.notice_campaigns import campaign_notices
from kopilka.communications.notice_kinds import Kind
from kopilka.communications.notice_models import CampaignNoticeRun
from kopilka.core import clock, programme
from kopilka.core.holdout import in_global_control_group
from kopilka.customers.models import Tag
from tests.communications.notice_helpers import NOON, reachable, read, switch_on, work

pytestmark = pytest.mark.django_db


@pytest.fixture
def crowd(moments, monkeypatch):
    """Forty reachable members, a programme control group of 20 % and a public address for unsubscribe links. The
    campaigns' rules are read afresh: kept rules are keyed by version id and moment, which a rolled back test on
    SQLite hands out again."""
    monkeypatch.setattr(selectors, "_FROZEN", {})
    moments.now = NOON
    programme.change({"CONTROL_GROUP_PERCENT": "20", "PUBLIC_URL": "https://bonus.example.ru"}, actor="t")
    return [reachable(f"Участник-{n}", f"m{n}@example.ru", first_name=f"Имя{n}") for n in range(40)]


def spring(share: str = "30", conditions: dict | None = None) -> None:
    """An active promo campaign of ten days holding out `share` % of its members."""
    services.create_campaign(code="spring", name="Весна (внутр.)", public_name="Весна", type="promo",
                             starts_at=clock.now(), ends_at=clock.now() + timedelta(days=10), actor="t",
                             rules={"accrual": {"reward": "percent", "percent": "5"}, "holdout_percent": share,
                                    "conditions": conditions})
    services.change_status(code="spring", action="activate", actor="t")


def offered(members) -> set[str]:
    """The addresses of the members neither group holds out."""
    now = clock.now()
    return {m.email for m in members
            if not in_global_control_group(m.pk, now) and not holdout.held_out(m.pk, "spring", Decimal(30))}


def test_a_started_campaign_is_told_once_to_its_members_less_both_control_groups(smtp, crowd):
    switch_on(Kind.CAMPAIGN_STARTED)
    spring()
    expected = offered(crowd)
    assert 0 < len(expected) < 30  # both groups hold somebody out

    assert campaign_notices() == len(expected) and campaign_notices() == 0
    assert work() == len(expected) and work() == 0
    mails = read(smtp)
    assert {to for to, _subject, _text in mails} == expected and len(mails) == len(expected)
    assert {subject for _to, subject, _text in mails} == {"Новая акция: Весна"}
    anyone = next(text for _to, _subject, text in mails)
    assert anyone.startswith("Имя") and ", с 16.06 действует акция «Весна» — до 26.06." in anyone
    assert "\r\n\r\nОтписаться от рассылки: https://bonus.example.ru/u/" in anyone
    assert set(Message.objects.values_list("purpose", flat=True)) == {"marketing"}
    assert CampaignNoticeRun.objects.get().members == len(expected)


def test_a_campaign_ending_in_n_days_is_told_then_and_only_to_members_its_conditions_select(smtp, crowd, moments):
    switch_on(Kind.CAMPAIGN_ENDING, days=3)
    tagged = {m.pk for m in crowd[:20]}
    vip = Tag.objects.create(code="vip", name="VIP")
    for member in crowd[:20]:
        member.tags.add(vip)
    spring(conditions={"type": "tags", "tags": ["vip"], "match": "any"})

    assert campaign_notices() == 0  # ten days left
    moments.advance(days=7, seconds=1)
    expected = {m.email for m in crowd if m.pk in tagged} & offered(crowd)
    assert campaign_notices() == len(expected) > 0
    assert work() == len(expected)
    assert {to for to, _s, _t in read(smtp)} == expected
    assert {subject for _to, subject, _text in read(smtp)} == {"Акция «Весна» заканчивается 26.06"}
    assert {m.relevant_until for m in Message.objects.all()} == {NOON + timedelta(days=10)}


def test_a_campaign_started_while_the_notice_was_off_is_never_told(smtp, crowd, moments):
    spring()
    assert campaign_notices() == 0
    moments.advance(minutes=1)
    switch_on(Kind.CAMPAIGN_STARTED)
    assert campaign_notices() == 0 and Message.objects.count() == 0 and CampaignNoticeRun.objects.count() == 0
