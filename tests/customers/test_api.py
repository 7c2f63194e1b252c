"""The members API: credentials and scopes, the error format, idempotent writes, every endpoint."""

import json

import pytest

from kopilka.core.models import IdempotencyRecord
from kopilka.customers import services
from kopilka.customers.models import Consent, ExternalId, Member

pytestmark = pytest.mark.django_db

BASE = "/api/v1/members"

ANNA = {
    "last_name": "Иванова",
    "first_name": "Анна",
    "phone": "8 (912) 345-67-89",
    "email": "Anna@Example.RU",
    "birthday": "1990-05-17",
    "gender": "female",
    "region_code": "54",
    "city": "Новосибирск",
    "tags": ["doctor"],
    "eligibility_flags": ["certified-injector"],
    "registration_source": "site",
    "registered_at": "2025-03-14T09:30:00Z",
    "external_ids": [{"system": "site", "value": "u-1001"}],
}


def _without_clock(body: dict) -> dict:
    return {k: v for k, v in body.items() if k not in {"id", "created_at", "updated_at"}}


# Credentials and scopes


def test_no_credentials_is_401(anonymous):
    response = anonymous.get(f"{BASE}/")

    assert response.status_code == 401
    assert response.json() == {
        "code": "unauthenticated",
        "message": "Credentials are missing or not valid.",
        "details": {},
    }


def test_unknown_token_is_401(anonymous):
    anonymous.headers["HTTP_AUTHORIZATION"] = "Bearer kpk_000000000000_not-a-secret"

    assert anonymous.get(f"{BASE}/regions").status_code == 401


def test_write_without_the_write_scope_is_403_and_creates_nothing(caller_with, reference_books):
    reader = caller_with("members:read")

    response = reader.post(f"{BASE}/", ANNA, key="k-1")

    assert response.status_code == 403
    assert response.json() == {
        "code": "forbidden",
        "message": "This API key lacks the scope members:write.",
        "details": {"scope": "members:write"},
    }
    assert Member.objects.count() == 0
    assert IdempotencyRecord.objects.count() == 0


def test_read_without_the_read_scope_is_403(caller_with):
    writer = caller_with("members:write")

    response = writer.get(f"{BASE}/")

    assert (response.status_code, response.json()["code"]) == (403, "forbidden")


# Creating


def test_create_returns_201_with_the_member(api, reference_books):
    response = api.post(f"{BASE}/", ANNA, key="create-anna")

    assert response.status_code == 201
    body = response.json()
    member = Member.objects.get()
    assert body["id"] == member.pk
    assert _without_clock(body) == {
        "kind": "individual",
        "status": "active",
        "display_name": "Иванова Анна",
        "last_name": "Иванова",
        "first_name": "Анна",
        "middle_name": "",
        "legal_name": "",
        "inn": "",
        "kpp": "",
        "phone": "+79123456789",
        "email": "anna@example.ru",
        "birthday": "1990-05-17",
        "gender": "female",
        "region": {"code": "54", "name": "Новосибирская область"},
        "city": "Новосибирск",
        "tags": ["doctor"],
        "eligibility_flags": ["certified-injector"],
        "consents": {},
        "external_ids": [{"system": "site", "value": "u-1001"}],
        "registration_source": "site",
        "registered_at": "2025-03-14T09:30:00Z",
        "blocked_reason": "",
    }


def test_create_legal_entity(api):
    company = {
        "kind": "legal_entity",
        "legal_name": 'ПАО "Сбербанк"',
        "inn": "7707083893",
        "kpp": "773601001",
    }

    response = api.post(f"{BASE}/", company, key="create-sber")

    assert response.status_code == 201
    assert (response.json()["display_name"], response.json()["inn"]) == ('ПАО "Сбербанк"', "7707083893")


def test_invalid_inn_is_422_in_the_error_format_and_creates_nothing(api):
    response = api.post(
        f"{BASE}/", {"kind": "legal_entity", "legal_name": "ООО Ромашка", "inn": "7707083894"}, key="k"
    )

    assert response.status_code == 422
    assert response.json() == {
        "code": "invalid_inn",
        "message": "This INN does not exist: its check digits do not match.",
        "details": {"field": "inn"},
    }
    assert Member.objects.count() == 0
    assert IdempotencyRecord.objects.count() == 0


def test_body_that_does_not_fit_the_schema_is_422(api):
    response = api.post(f"{BASE}/", {"kind": "robot", "first_name": "Анна"}, key="k")

    assert response.status_code == 422
    body = response.json()
    assert (body["code"], body["message"]) == ("validation_error", "The request contains invalid data.")
    assert [f["location"] for f in body["details"]["fields"]] == [["body", "body", "kind"]]
    assert Member.objects.count() == 0


def test_write_without_an_idempotency_key_is_422(api):
    response = api.post(f"{BASE}/", {"first_name": "Анна"})

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_required"
    assert Member.objects.count() == 0


def test_replay_returns_the_first_answer_and_creates_one_member(api, reference_books):
    first = api.post(f"{BASE}/", ANNA, key="create-anna")

    replay = api.post(f"{BASE}/", ANNA, key="create-anna")

    assert (first.status_code, replay.status_code) == (201, 201)
    assert replay.json() == first.json()
    assert Member.objects.count() == 1


def test_key_reused_with_another_body_is_422_and_creates_nothing_more(api, reference_books):
    api.post(f"{BASE}/", ANNA, key="create-anna")

    response = api.post(f"{BASE}/", ANNA | {"first_name": "Мария"}, key="create-anna")

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert response.json()["details"] == {"key": "create-anna", "first_used_for": "members.create"}
    assert list(Member.objects.values_list("first_name", flat=True)) == ["Анна"]


def test_same_key_from_another_integration_is_another_request(api, caller_with):
    other = caller_with("members:write")

    api.post(f"{BASE}/", {"first_name": "Анна"}, key="same")
    other.post(f"{BASE}/", {"first_name": "Анна"}, key="same")

    assert Member.objects.count() == 2


def test_refused_write_releases_its_key(api):
    api.post(f"{BASE}/", {"first_name": "Анна", "phone": "123"}, key="retry-me")

    response = api.post(f"{BASE}/", {"first_name": "Анна", "phone": "+79123456789"}, key="retry-me")

    assert response.status_code == 201
    assert Member.objects.get().phone == "+79123456789"


def test_inn_clash_is_409(api):
    services.create_member(actor="t", kind="legal_entity", legal_name="Сбербанк", inn="7707083893")

    response = api.post(
        f"{BASE}/", {"kind": "legal_entity", "legal_name": "Другой", "inn": "7707083893"}, key="k"
    )

    assert response.status_code == 409
    assert response.json()["code"] == "inn_taken"
    assert Member.objects.count() == 1


# Reading


def test_get_member(api, reference_books):
    created = api.post(f"{BASE}/", ANNA, key="create-anna").json()

    response = api.get(f"{BASE}/{created['id']}")

    assert response.status_code == 200
    assert response.json() == created


def test_get_missing_member_is_404(api):
    response = api.get(f"{BASE}/999")

    assert response.status_code == 404
    assert response.json() == {
        "code": "member_not_found",
        "message": "Member not found.",
        "details": {"member_id": 999},
    }


def test_search_pages(api):
    ids = [services.create_member(actor="t", first_name=f"Анна{i}", phone="+79123456789").pk for i in range(3)]
    services.create_member(actor="t", first_name="Пётр", phone="+79990000000")

    first = api.get(f"{BASE}/", {"phone": "8 912 345 67 89", "limit": 2}).json()
    second = api.get(
        f"{BASE}/", {"phone": "8 912 345 67 89", "limit": 2, "cursor": first["next_cursor"]}
    ).json()

    assert ([m["id"] for m in first["items"]], first["next_cursor"]) == (ids[:2], ids[1])
    assert ([m["id"] for m in second["items"]], second["next_cursor"]) == (ids[2:], None)


def test_search_by_name_and_external_id(api):
    anna = services.create_member(actor="t", last_name="Королёва", first_name="Анна", external_ids=[("card", "77")])
    services.create_member(actor="t", last_name="Королёва", first_name="Мария")

    by_name = api.get(f"{BASE}/", {"name": "королева ан"}).json()
    by_card = api.get(f"{BASE}/", {"external_id": "77", "system": "card"}).json()

    assert [m["id"] for m in by_name["items"]] == [anna.pk]
    assert [m["id"] for m in by_card["items"]] == [anna.pk]


def test_search_with_a_bad_limit_is_422(api):
    response = api.get(f"{BASE}/", {"limit": 500})

    assert (response.status_code, response.json()["code"]) == (422, "validation_error")


def test_regions(api):
    response = api.get(f"{BASE}/regions")

    assert response.status_code == 200
    regions = response.json()
    assert len(regions) == 89
    assert regions[0] == {
        "code": "01",
        "name": "Республика Адыгея (Адыгея)",
        "federal_district": "Южный федеральный округ",
        "time_zone": "Europe/Moscow",
    }
    assert {
        "code": "63",
        "name": "Самарская область",
        "federal_district": "Приволжский федеральный округ",
        "time_zone": "Europe/Samara",
    } in regions


# Changing


def test_patch_changes_only_what_is_sent(api, reference_books):
    created = api.post(f"{BASE}/", ANNA, key="create-anna").json()

    response = api.patch(f"{BASE}/{created['id']}", {"last_name": "Смирнова", "birthday": None}, key="p-1")

    assert response.status_code == 200
    body = response.json()
    assert (body["last_name"], body["first_name"], body["birthday"]) == ("Смирнова", "Анна", None)
    assert (body["phone"], body["city"], body["tags"]) == ("+79123456789", "Новосибирск", ["doctor"])


def test_refused_patch_changes_nothing(api, reference_books):
    created = api.post(f"{BASE}/", ANNA, key="create-anna").json()

    response = api.patch(f"{BASE}/{created['id']}", {"last_name": "Смирнова", "email": "nope"}, key="p-1")

    assert response.status_code == 422
    assert response.json()["details"] == {"field": "email"}
    assert api.get(f"{BASE}/{created['id']}").json() == created


def test_block_unblock_and_erase(api, reference_books):
    member_id = api.post(f"{BASE}/", ANNA, key="create-anna").json()["id"]

    blocked = api.post(f"{BASE}/{member_id}/block", {"reason": "Проверка"}, key="b-1")
    blocked_again = api.post(f"{BASE}/{member_id}/block", {"reason": "Снова"}, key="b-2")
    unblocked = api.post(f"{BASE}/{member_id}/unblock", {}, key="u-1")
    erased = api.post(f"{BASE}/{member_id}/erase", key="e-1")

    assert (blocked.status_code, blocked.json()["status"], blocked.json()["blocked_reason"]) == (
        200,
        "blocked",
        "Проверка",
    )
    assert (blocked_again.status_code, blocked_again.json()["code"]) == (409, "member_already_blocked")
    assert (unblocked.status_code, unblocked.json()["status"]) == (200, "active")
    assert erased.status_code == 200
    body = erased.json()
    assert body["status"] == "deleted"
    assert (body["display_name"], body["phone"], body["email"], body["birthday"]) == ("", "", "", None)
    assert (body["external_ids"], body["tags"], body["consents"]) == ([], [], {})
    assert body["region"] == {"code": "54", "name": "Новосибирская область"}
    actors = list(Member.objects.get(pk=member_id).status_changes.values_list("actor", flat=True))
    assert actors == ["apikey:test-key-0"] * 3


def test_consents_in_force_are_shown_per_channel(api):
    member = services.create_member(actor="t", first_name="Анна")

    granted = api.post(
        f"{BASE}/{member.pk}/consents",
        {"channel": "email", "granted": True, "source": "site", "decided_at": "2025-01-10T08:00:00Z"},
        key="c-1",
    )
    api.post(
        f"{BASE}/{member.pk}/consents",
        {"channel": "email", "granted": False, "source": "unsubscribe", "decided_at": "2025-02-01T08:00:00Z"},
        key="c-2",
    )

    assert granted.status_code == 201
    assert granted.json() == {
        "channel": "email",
        "granted": True,
        "decided_at": "2025-01-10T08:00:00Z",
        "source": "site",
    }
    assert api.get(f"{BASE}/{member.pk}").json()["consents"] == {
        "email": {
            "channel": "email",
            "granted": False,
            "decided_at": "2025-02-01T08:00:00Z",
            "source": "unsubscribe",
        }
    }
    assert Consent.objects.filter(member=member).count() == 2


def test_unknown_consent_channel_is_422(api):
    member = services.create_member(actor="t", first_name="Анна")

    response = api.post(
        f"{BASE}/{member.pk}/consents", {"channel": "fax", "granted": True, "source": "x"}, key="c"
    )

    assert response.status_code == 422
    assert Consent.objects.count() == 0


def test_external_ids(api):
    anna = services.create_member(actor="t", first_name="Анна")
    petr = services.create_member(actor="t", first_name="Пётр")

    added = api.post(
        f"{BASE}/{anna.pk}/external-ids", {"system": "card", "value": "2000000000017"}, key="x-1"
    )
    again = api.post(
        f"{BASE}/{anna.pk}/external-ids", {"system": "card", "value": "2000000000017"}, key="x-2"
    )
    clash = api.post(
        f"{BASE}/{petr.pk}/external-ids", {"system": "card", "value": "2000000000017"}, key="x-3"
    )

    assert (added.status_code, added.json()) == (201, {"system": "card", "value": "2000000000017"})
    assert (again.status_code, again.json()) == (200, {"system": "card", "value": "2000000000017"})
    assert clash.status_code == 409
    assert clash.json()["code"] == "external_id_taken"
    assert list(ExternalId.objects.values_list("member_id", flat=True)) == [anna.pk]


def test_write_to_a_missing_member_is_404(api):
    response = api.post(f"{BASE}/404/block", {"reason": "Проверка"}, key="b")

    assert (response.status_code, response.json()["code"]) == (404, "member_not_found")


def test_an_erasure_leaves_no_personal_data_in_answers_messages_or_reasons_and_is_audited(api, reference_books):
    """152-FZ: after an erasure the stored answers of the member's writes, the messages sent to the member and the
    reasons of its blocks hold none of its data; the ledger is untouched and the erasure is in the audit log."""
    from kopilka.communications import services as messages
    from kopilka.communications.models import Message
    from kopilka.core.models import AuditEvent
    from kopilka.ledger import services as ledger
    from kopilka.ledger.reconcile import reconcile
    from kopilka.ledger.selectors import balance

    member_id = api.post(f"{BASE}/", ANNA, key="create-anna").json()["id"]
    api.post(f"{BASE}/{member_id}/external-ids", {"system": "card", "value": "2700000123456"}, key="x-1")
    api.post(f"{BASE}/{member_id}/block", {"reason": "Просьба Анны Ивановой"}, key="b-1")
    api.post(f"{BASE}/{member_id}/unblock", {}, key="u-1")
    ledger.accrue(member_id=member_id, points=300, actor="t", idempotency_key="lot-1")
    messages.notify(member_id, kind="compensation", source="compensation:1", subject="Анна, вам начислено",
                    body="Анна Иванова, 300 баллов")

    assert api.post(f"{BASE}/{member_id}/erase", key="e-1").status_code == 200

    stored = json.dumps(list(IdempotencyRecord.objects.values_list("response_body", flat=True)),
                        ensure_ascii=False)
    assert "Анна" not in stored and "Иванова" not in stored and "example.ru" not in stored.lower()
    assert "2700000123456" not in stored and "u-1001" not in stored
    replay = api.post(f"{BASE}/", ANNA, key="create-anna")
    assert (replay.status_code, replay.json()["status"], replay.json()["phone"]) == (201, "deleted", "")
    message = Message.objects.get(member_id=member_id)
    assert (message.to, message.subject, message.body, message.status) == ("", "", "", Message.Status.SKIPPED)
    assert set(Member.objects.get(pk=member_id).status_changes.values_list("reason", flat=True)) == {""}
    assert balance(member_id).total == 300 and reconcile().clean
    assert list(AuditEvent.objects.filter(member_id=member_id).order_by("id").values_list("action", "actor")) == [
        ("member.created", "apikey:test-key-0"), ("member.external_id_added", "apikey:test-key-0"),
        ("member.blocked", "apikey:test-key-0"),
        ("member.unblocked", "apikey:test-key-0"), ("member.erased", "apikey:test-key-0"),
    ]
