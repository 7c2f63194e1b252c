"""Every door writes the audit log in the transaction of the change it records: the back office, the API and the
CLI each leave an event naming who acted, and when writing the event fails, the change is not there either. Staff
opening a member card are in the log too (152-FZ)."""

import pytest
from django.test import Client

from kopilka import cli
from kopilka.campaigns import services as campaigns
from kopilka.campaigns.models import Campaign
from kopilka.core import audit, clock
from kopilka.core.models import ApiKey, AuditEvent
from kopilka.customers import services as members
from tests.core.marks import transactional_db


@pytest.fixture
def spring(db) -> Campaign:
    start = clock.now().replace(second=0, microsecond=0)
    return campaigns.create_campaign(code="spring", name="Весна", type="promo", starts_at=start,
                                     rules={"accrual": {"reward": "percent", "percent": "5"}}, actor="t")


@pytest.fixture
def failing_audit(monkeypatch):
    def refuse(*args, **kwargs):
        raise RuntimeError("the audit log is unavailable")

    monkeypatch.setattr(audit, "record", refuse)


def _office(staff, role: str) -> tuple[Client, str]:
    user = staff(role)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client, user.username


def _edit(client: Client, campaign: Campaign, **changes) -> dict:
    """The campaign's form as the page fills it (its start as a datetime-local input holds it), with `changes`."""
    page = client.get(f"/office/campaigns/{campaign.code}/")
    form = page.context["form"]
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data["starts_at"] = campaign.starts_at.astimezone(clock.programme_tz()).strftime("%Y-%m-%dT%H:%M")
    data.update(changes, save="1")
    return data


def test_the_back_office_audits_a_campaign_change_in_its_transaction(staff, spring):
    client, username = _office(staff, "marketer")
    saved = client.post("/office/campaigns/spring/", _edit(client, spring, priority="7"))
    assert saved.status_code == 302, saved.context["form"].errors
    event = AuditEvent.objects.get(action="campaign.changed")
    assert event.actor == f"user:{username}" and event.details == {"priority": ["100", "7"]}


def test_a_back_office_change_whose_audit_fails_is_not_saved(staff, spring, failing_audit):
    client, _ = _office(staff, "marketer")
    data = _edit(client, spring, priority="7")
    with pytest.raises(RuntimeError):
        client.post("/office/campaigns/spring/", data)
    spring.refresh_from_db()
    assert spring.priority == 100


def test_the_api_audits_a_campaign_change_in_its_transaction(caller_with, spring):
    api = caller_with("campaigns:write", "campaigns:read")
    answer = api.patch("/api/v1/campaigns/spring", {"priority": 7}, key="k-1")
    assert answer.status_code == 200, answer.content
    event = AuditEvent.objects.get(action="campaign.changed")
    assert event.actor == "apikey:test-key-0" and event.details == {"priority": ["100", "7"]}


def test_an_api_change_whose_audit_fails_is_not_saved(caller_with, spring, failing_audit):
    answer = caller_with("campaigns:write").patch("/api/v1/campaigns/spring", {"priority": 7}, key="k-2")
    assert answer.status_code == 500 and answer.json()["code"] == "internal_error"
    spring.refresh_from_db()
    assert spring.priority == 100


@transactional_db
def test_the_cli_audits_issuing_and_revoking_a_key(capsys):
    cli.main(["apikey", "create", "--name", "pos-kazan", "--scopes", "members:read"])
    cli.main(["apikey", "revoke", "pos-kazan"])
    events = list(AuditEvent.objects.order_by("id").values_list("action", "actor", "target"))
    key = ApiKey.objects.get(name="pos-kazan")
    assert [action for action, _actor, _target in events] == ["apikey.issued", "apikey.revoked"]
    assert all(actor.startswith("cli:") and target == f"core.apikey:{key.pk}" for _a, actor, target in events)


@transactional_db
def test_a_key_whose_audit_fails_is_not_issued(capsys, failing_audit):
    with pytest.raises(RuntimeError):
        cli.main(["apikey", "create", "--name", "pos-kazan", "--scopes", "members:read"])
    assert not ApiKey.objects.exists()


def test_opening_a_member_card_is_audited_but_not_listed_on_the_card(staff):
    anna = members.create_member(last_name="Соколова")
    client, username = _office(staff, "support")
    assert client.get(f"/office/members/{anna.pk}/").status_code == 200
    card = client.get(f"/office/members/{anna.pk}/").content.decode()
    viewed = AuditEvent.objects.filter(action="member.viewed", member_id=anna.pk)
    assert viewed.count() == 2 and viewed.first().actor == f"user:{username}"
    assert "Opened the card" not in card
