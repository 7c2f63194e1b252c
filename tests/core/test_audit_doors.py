"""Every door writes the audit log in the transaction of the change it records: the back office, the API and the
CLI each leave an event naming who acted, and when writing the event fails, the change is not there either. Staff
opening a member card are in the log too (152-FZ)."""

from datetime import timedelta

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



API_WRITES = [  # (scopes, method, path, body, the audit event's action)
    (["members:write"], "post", "/api/v1/members/", {"last_name": "Соколова"}, "member.created"),
    (["catalog:write"], "put", "/api/v1/catalog/groups/fillers", {"name": "Филлеры"}, "catalog.group_saved"),
    (["catalog:write"], "post", "/api/v1/catalog/products",
     {"products": [{"sku": "F-1", "name": "Филлер", "price": "1000"}]}, "catalog.products_saved"),
    (["campaigns:write"], "put", "/api/v1/tiers/gold", {"name": "Золото", "rank": 2, "threshold": "10000"},
     "tier.saved"),
    (["reference:write"], "put", "/api/v1/reference/tags/vip", {"name": "VIP"}, "reference.tags.saved"),
]


@pytest.mark.parametrize(("scopes", "method", "path", "body", "action"), API_WRITES,
                         ids=[row[-1] for row in API_WRITES])
def test_the_api_audits_each_kind_of_change_in_its_transaction(caller_with, scopes, method, path, body, action):
    answer = getattr(caller_with(*scopes), method)(path, body, key="k-1")
    assert answer.status_code in (200, 201), answer.content
    assert list(AuditEvent.objects.values_list("action", "actor")) == [(action, "apikey:test-key-0")]


@pytest.mark.parametrize(("scopes", "method", "path", "body", "action"), API_WRITES,
                         ids=[row[-1] for row in API_WRITES])
def test_an_api_change_of_any_kind_whose_audit_fails_is_not_saved(caller_with, failing_audit, scopes, method, path,
                                                                  body, action):
    from django.apps import apps

    counted = ["customers.Member", "catalog.ProductGroup", "catalog.Product", "tiers.Tier", "customers.Tag"]
    before = {name: apps.get_model(name).objects.count() for name in counted}
    answer = getattr(caller_with(*scopes), method)(path, body, key="k-1")
    assert answer.status_code == 500 and answer.json()["code"] == "internal_error"
    assert {name: apps.get_model(name).objects.count() for name in counted} == before


def _admin(django_user_model) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "a-long-password-1"))
    return client


def test_the_administration_audits_a_change_a_bulk_delete_and_a_password(django_user_model):
    from kopilka.customers.models import Tag

    vip, doctor = Tag.objects.create(code="vip", name="VIP"), Tag.objects.create(code="doctor", name="Врач")
    client = _admin(django_user_model)
    changed = client.post(f"/admin/customers/tag/{vip.pk}/change/", {"code": "vip", "name": "Важный"})
    assert changed.status_code == 302
    deleted = client.post("/admin/customers/tag/", {"action": "delete_selected", "post": "yes",
                                                    "_selected_action": [vip.pk, doctor.pk]})
    assert deleted.status_code == 302 and not Tag.objects.exists()
    olga = django_user_model.objects.create_user("olga", password="a-long-password-2", is_staff=True)
    password = client.post(f"/admin/auth/user/{olga.pk}/password/",
                           {"password1": "another-long-password-3", "password2": "another-long-password-3"})
    assert password.status_code == 302
    events = list(AuditEvent.objects.order_by("id").values_list("action", "actor", "target"))
    assert len(events) == 4
    assert events[0] == ("admin.changed", "user:root", f"customers.tag:{vip.pk}")
    assert set(events[1:3]) == {("admin.deleted", "user:root", f"customers.tag:{pk}") for pk in (vip.pk, doctor.pk)}
    assert events[3] == ("admin.changed", "user:root", f"auth.user:{olga.pk}")
    assert AuditEvent.objects.get(action="admin.changed", target=f"customers.tag:{vip.pk}").details == {
        "changes": [{"changed": {"fields": ["Name"]}}]}


@transactional_db
def test_an_administration_bulk_delete_whose_audit_fails_deletes_nothing(django_user_model, failing_audit):
    from kopilka.customers.models import Tag

    tags = [Tag.objects.create(code=f"t{n}", name=f"T{n}") for n in range(3)]
    client = _admin(django_user_model)
    with pytest.raises(RuntimeError):
        client.post("/admin/customers/tag/", {"action": "delete_selected", "post": "yes",
                                              "_selected_action": [t.pk for t in tags]})
    assert Tag.objects.count() == 3

@transactional_db
def test_the_cli_audits_issuing_and_revoking_a_key(capsys):
    cli.main(["apikey", "create", "--name", "pos-kazan", "--scopes", "members:read"])
    cli.main(["apikey", "revoke", "pos-kazan"])
    events = list(AuditEvent.objects.order_by("id").values_list("action", "actor", "target"))
    key = ApiKey.objects.get(name="pos-kazan")
    assert [action for action, _actor, _target in events] == ["apikey.issued", "apikey.revoked"]
    assert all(actor.startswith("cli:") and target == f"core.apikey:{key.pk}" for _a, actor, target in events)



@transactional_db
def test_the_cli_names_who_ran_an_import_or_an_expiry(tmp_path, capsys):
    from kopilka.ledger import services as ledger
    from kopilka.ledger.models import Entry

    purchases = tmp_path / "purchases.csv"
    purchases.write_text("customer_id,purchased_at,amount\nc-1,2026-03-01,1500.00\n", encoding="utf-8")
    cli.main(["import", "transactions", str(purchases)])
    imported = AuditEvent.objects.get(action="orders.imported")
    assert imported.actor.startswith("cli:") and imported.details["orders"] == 1
    anna = members.create_member(actor="t", last_name="Соколова")
    ledger.accrue(member_id=anna.pk, points=50, actor="t", idempotency_key="lot", lifetime_days=1,
                  at=clock.now() - timedelta(days=3))
    cli.main(["expire"])
    assert Entry.objects.get(account__member_id=anna.pk, kind="expiry").actor == imported.actor

@transactional_db
def test_a_key_whose_audit_fails_is_not_issued(capsys, failing_audit):
    with pytest.raises(RuntimeError):
        cli.main(["apikey", "create", "--name", "pos-kazan", "--scopes", "members:read"])
    assert not ApiKey.objects.exists()


def test_opening_a_member_card_is_audited_but_not_listed_on_the_card(staff):
    anna = members.create_member(actor="t", last_name="Соколова")
    client, username = _office(staff, "support")
    assert client.get(f"/office/members/{anna.pk}/").status_code == 200
    card = client.get(f"/office/members/{anna.pk}/").content.decode()
    viewed = AuditEvent.objects.filter(action="member.viewed", member_id=anna.pk)
    assert viewed.count() == 2 and viewed.first().actor == f"user:{username}"
    assert "Opened the card" not in card


def test_staff_shown_members_in_a_search_the_administration_or_the_api_are_audited(staff, caller_with,
                                                                                   django_user_model):
    """152-FZ: a person shown members' personal data — in the console's search, the administration's list and
    page, or the API through a staff session — is in the log with the members shown; a system's API key is not
    a person."""
    anna = members.create_member(actor="t", last_name="Соколова", first_name="Анна")
    olga = members.create_member(actor="t", last_name="Соколова", first_name="Ольга")
    client, username = _office(staff, "support")
    assert client.get("/office/members/", {"q": "Соколова"}).status_code == 200
    admin = _admin(django_user_model)
    assert admin.get("/admin/customers/member/").status_code == 200
    assert admin.get(f"/admin/customers/member/{anna.pk}/change/").status_code == 200
    assert client.get(f"/api/v1/members/{olga.pk}").status_code == 200
    assert caller_with("members:read").get(f"/api/v1/members/{olga.pk}").status_code == 200
    shown = AuditEvent.objects.filter(action__in=["member.searched", "member.listed", "member.viewed", "member.read"])
    assert [(e.action, e.actor, sorted(e.details["members"])) for e in shown.order_by("id")] == [
        ("member.searched", f"user:{username}", sorted([anna.pk, olga.pk])),
        ("member.listed", "user:root", sorted([anna.pk, olga.pk])),
        ("member.viewed", "user:root", [anna.pk]),
        ("member.read", f"user:{username}", [olga.pk]),
    ]
