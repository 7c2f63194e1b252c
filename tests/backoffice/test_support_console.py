"""The support console through HTTP: search, the member card, and the two-step compensation form."""

import pytest
from django.test import Client

from kopilka.backoffice.models import CompensationRequest
from kopilka.backoffice.roles import SUPPORT
from kopilka.customers import services as members
from kopilka.ledger import services as ledger
from kopilka.ledger.selectors import balance

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(staff):
    client = Client(HTTP_ACCEPT_LANGUAGE="ru")
    client.force_login(staff(SUPPORT))
    return client


@pytest.fixture
def anna(db):
    member = members.create_member(actor="t", last_name="Соколова", first_name="Анна", phone="+79161234567",
                                   email="anna@example.ru")
    ledger.accrue(member_id=member.pk, points=120, actor="t", idempotency_key="a-1", lifetime_days=30)
    return member


def test_a_unique_match_opens_the_member_card(agent, anna):
    response = agent.get("/office/members/", {"q": "8 (916) 123-45-67"})
    assert response.status_code == 302 and response["Location"] == f"/office/members/{anna.pk}/"
    card = agent.get(response["Location"])
    text = card.content.decode()
    assert card.status_code == 200
    assert "Соколова" in text and "История операций" in text
    assert 'data-testid="available">120<' in text


def test_several_matches_are_listed_and_none_is_said(agent, anna):
    members.create_member(actor="t", last_name="Соколов", first_name="Пётр")
    listing = agent.get("/office/members/", {"q": "Соколов"}).content.decode()
    assert listing.count("/office/members/") >= 2
    assert "Никто не найден" in agent.get("/office/members/", {"q": "Нетакого"}).content.decode()


def test_compensation_is_reviewed_then_confirmed_once(agent, anna):
    form = agent.get(f"/office/members/{anna.pk}/compensate/").content.decode()
    key = form.split('name="key" value="', 1)[1].split('"', 1)[0]
    fields = {"points": "150", "reason_code": "goodwill", "comment": "Извинения за задержку", "key": key}
    review = agent.post(f"/office/members/{anna.pk}/compensate/", {**fields, "step": "review"})
    assert review.status_code == 200 and not CompensationRequest.objects.exists()
    assert "сразу" in review.content.decode()  # within the limit: granted at once
    for _ in range(2):  # a second send of the same form changes nothing
        done = agent.post(f"/office/members/{anna.pk}/compensate/", {**fields, "step": "confirm"})
        assert done.status_code == 302
    assert CompensationRequest.objects.get().status == CompensationRequest.Status.GRANTED
    assert balance(anna.pk).available == 270


def test_a_bad_form_shows_errors_and_changes_nothing(agent, anna):
    response = agent.post(f"/office/members/{anna.pk}/compensate/",
                          {"points": "-5", "reason_code": "goodwill", "comment": "", "key": "k", "step": "review"})
    assert response.status_code == 200 and "errorlist" in response.content.decode()
    assert not CompensationRequest.objects.exists()


@pytest.fixture
def senior(staff):
    client = Client(HTTP_ACCEPT_LANGUAGE="ru")
    client.force_login(staff("senior_support"))
    return client


def _confirm(client, path: str, fields: dict):
    page = client.get(path).content.decode()
    key = page.split('name="key" value="', 1)[1].split('"', 1)[0]
    review = client.post(path, {**fields, "key": key, "step": "review"})
    assert review.status_code == 200, review.content.decode()[:2000]
    return client.post(path, {**fields, "key": key, "step": "confirm"})


def test_a_senior_spends_burns_and_reverses_each_confirmed_and_audited(senior, anna):
    from kopilka.core.models import AuditEvent
    from kopilka.ledger.models import Entry

    second = ledger.accrue(member_id=anna.pk, points=80, actor="t", idempotency_key="a-2")
    done = _confirm(senior, f"/office/members/{anna.pk}/spend/",
                    {"points": "20", "reason_code": "member-request", "comment": "Списание по просьбе"})
    assert done.status_code == 302 and balance(anna.pk).available == 180
    done = _confirm(senior, f"/office/members/{anna.pk}/burn/",
                    {"target": str(second.lot_id), "reason_code": "fraud", "comment": "Злоупотребление"})
    assert done.status_code == 302
    first = Entry.objects.get(idempotency_key="a-1")
    done = _confirm(senior, f"/office/members/{anna.pk}/reverse/",
                    {"target": str(first.pk), "points": "", "reason_code": "correction", "comment": "Ошибка"})
    assert done.status_code == 302 and balance(anna.pk).available == 0
    ledger_events = AuditEvent.objects.filter(action__startswith="ledger.")
    assert sorted(ledger_events.values_list("action", flat=True)) == ["ledger.burn", "ledger.reverse", "ledger.spend"]


def test_an_operation_the_ledger_refuses_shows_why_and_books_nothing(senior, anna):
    from kopilka.core.models import AuditEvent

    refused = _confirm(senior, f"/office/members/{anna.pk}/spend/",
                       {"points": "5000", "reason_code": "member-request", "comment": "Слишком много"})
    assert refused.status_code == 200 and "errorlist" in refused.content.decode()
    assert balance(anna.pk).available == 120 and not AuditEvent.objects.filter(action__startswith="ledger.").exists()


def test_an_agent_cannot_spend_and_an_unknown_operation_is_not_found(agent, senior, anna):
    assert agent.get(f"/office/members/{anna.pk}/spend/").status_code == 403
    assert senior.get(f"/office/members/{anna.pk}/teleport/").status_code == 404


def test_a_search_without_letters_says_so_and_a_missing_member_is_not_found(agent, anna):
    page = agent.get("/office/members/", {"q": "---"})
    assert page.status_code == 200 and "errorlist" in page.content.decode()
    assert agent.get(f"/office/members/{anna.pk + 1000}/").status_code == 404
