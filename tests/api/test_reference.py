"""Reference books over HTTP: tags, eligibility flags, event types, point categories and reason codes are
listed, created and replaced (one by code, or a batch all or nothing), idempotently; usable at once."""

import pytest
from django.test import Client

from kopilka.campaigns.models import EventType
from kopilka.core.models import IdempotencyRecord
from kopilka.customers.models import EligibilityFlag, Tag
from kopilka.ledger.models import Entry, LotCategory, ReasonCode

from ..ledger.conftest import make_member

URL = "/api/v1/reference"


@pytest.fixture
def books(caller_with):
    return caller_with("reference:read", "reference:write")


def _snapshot():
    return {model.__name__: sorted(model.objects.values_list("code", "name")) for model in
            (Tag, EligibilityFlag, EventType, LotCategory, ReasonCode)}


def test_a_tag_is_created_then_renamed_and_a_replay_gets_the_first_answer(books):
    made = books.put(f"{URL}/tags/doctor", {"name": "  Врач  "}, key="t-1")
    assert (made.status_code, made.json()) == (201, {"code": "doctor", "name": "Врач"})
    again = books.put(f"{URL}/tags/doctor", {"name": "  Врач  "}, key="t-1")
    assert (again.status_code, again.json()) == (201, {"code": "doctor", "name": "Врач"})
    renamed = books.put(f"{URL}/tags/doctor", {"name": "Врач-косметолог"}, key="t-2")
    assert (renamed.status_code, renamed.json()) == (200, {"code": "doctor", "name": "Врач-косметолог"})
    assert books.get(f"{URL}/tags").json() == [{"code": "doctor", "name": "Врач-косметолог"}]


def test_a_batch_creates_and_replaces_together(books):
    Tag.objects.create(code="clinic", name="Клиника")
    items = [{"code": "doctor", "name": "Врач"}, {"code": "clinic", "name": "Клиника категории А"}]
    done = books.post(f"{URL}/tags", {"items": items}, key="b-1")
    assert (done.status_code, done.json()) == (200, {"created": ["doctor"], "updated": ["clinic"]})
    assert sorted(Tag.objects.values_list("code", "name")) == [
        ("clinic", "Клиника категории А"), ("doctor", "Врач")]


@pytest.mark.parametrize("items, code, item, field", [
    ([{"code": "a", "name": "А"}, {"code": "a", "name": "Б"}], "duplicate_code", 1, "code"),
    ([{"code": "a", "name": "А"}, {"code": "b", "name": "   "}], "validation_error", None, None),
])
def test_a_batch_with_one_bad_entry_writes_nothing(books, items, code, item, field):
    Tag.objects.create(code="clinic", name="Клиника")
    before = _snapshot()
    body = {"items": [{"code": "clinic", "name": "Другое"}, *items]}
    refused = books.post(f"{URL}/tags", body, key="b-bad")
    assert (refused.status_code, refused.json()["code"]) == (422, code)
    if item is not None:
        assert (refused.json()["details"]["item"], refused.json()["details"]["field"]) == (item + 1, field)
    assert _snapshot() == before
    assert not IdempotencyRecord.objects.filter(key="b-bad").exists()


def test_a_new_eligibility_flag_can_be_given_to_a_member_at_once(books, caller_with):
    made = books.put(f"{URL}/eligibility-flags/certified", {"name": "Сертифицирован"}, key="f-1")
    assert made.status_code == 201
    members = caller_with("members:write")
    body = {"last_name": "Петрова", "eligibility_flags": ["certified"]}
    made = members.post("/api/v1/members/", body, key="m-1")
    assert (made.status_code, made.json()["eligibility_flags"]) == (201, ["certified"])


def test_a_new_event_type_can_be_posted_and_a_retired_one_is_refused(books, caller_with):
    member = make_member()
    events = caller_with("events:write")
    event = {"member": {"id": member.pk}, "type": "webinar"}
    assert events.post("/api/v1/events/", event, key="e-0").json()["code"] == "unknown_event_type"
    made = books.put(f"{URL}/event-types/webinar", {"name": "Вебинар"}, key="et-1")
    assert (made.status_code, made.json()) == (201, {"code": "webinar", "name": "Вебинар", "is_active": True})
    assert events.post("/api/v1/events/", event, key="e-1").status_code == 201
    retired = books.put(f"{URL}/event-types/webinar", {"name": "Вебинар", "is_active": False}, key="et-2")
    assert (retired.status_code, retired.json()["is_active"]) == (200, False)
    assert events.post("/api/v1/events/", event, key="e-2").json()["code"] == "unknown_event_type"
    upper = books.put(f"{URL}/event-types/Webinar", {"name": "Вебинар"}, key="et-3")
    assert (upper.status_code, upper.json()["code"]) == (422, "validation_error")
    codes = EventType.objects.filter(code__iexact="webinar").values_list("code", flat=True)
    assert list(codes) == ["webinar"]


def test_a_point_category_ranks_into_the_redemption_order_at_once(books, caller_with):
    ledger = caller_with("ledger:write")
    member = make_member()
    category = {"name": "Партнёрские", "redemption_rank": 5}
    made = books.put(f"{URL}/lot-categories/partner", category, key="c-1")
    assert (made.status_code, made.json()) == (201, {"code": "partner", **category})
    for points, category in ((10, "promo"), (10, "partner")):
        body = {"points": points, "category": category}
        earned = ledger.post(f"/api/v1/ledger/members/{member.pk}/accruals", body, key=f"a-{category}")
        assert earned.status_code == 201
    spent = ledger.post(f"/api/v1/ledger/members/{member.pk}/spendings",
                        {"points": 10, "redemption_order": "category_fifo"}, key="s-1")
    partner_lot = Entry.objects.get(idempotency_key__endswith=":a-partner").lot_id
    assert spent.json()["lots"] == [{"lot_id": partner_lot, "points": -10}]  # rank 5 goes before promo's 10
    assert [row["code"] for row in books.get(f"{URL}/lot-categories").json()] == [
        "partner", "promo", "compensation", "base", "debt"]


@pytest.mark.parametrize("method, path, body", [
    ("put", "/lot-categories/debt", {"name": "Долг", "redemption_rank": 1}),
    ("post", "/lot-categories", {"items": [{"code": "debt", "name": "Долг", "redemption_rank": 1}]}),
])
def test_the_ledgers_own_debt_category_is_not_written(books, method, path, body):
    before = list(LotCategory.objects.values_list("code", "name", "redemption_rank"))
    refused = getattr(books, method)(URL + path, body, key="debt")
    assert (refused.status_code, refused.json()["code"]) == (422, "category_reserved")
    assert list(LotCategory.objects.values_list("code", "name", "redemption_rank")) == before


def test_a_reason_code_serves_manual_operations_until_it_retires(books, caller_with):
    ledger = caller_with("ledger:write")
    member = make_member()
    made = books.post(f"{URL}/reason-codes", {"items": [{"code": "partner-bonus", "name": "Бонус партнёра"}]},
                      key="r-1")
    assert made.json() == {"created": ["partner-bonus"], "updated": []}
    adjust = {"points": 50, "reason_code": "partner-bonus"}
    made = ledger.post(f"/api/v1/ledger/members/{member.pk}/adjustments", adjust, key="adj-1")
    assert made.status_code == 201
    books.put(f"{URL}/reason-codes/partner-bonus", {"name": "Бонус партнёра", "is_active": False}, key="r-2")
    refused = ledger.post(f"/api/v1/ledger/members/{member.pk}/adjustments", adjust, key="adj-2")
    assert refused.json()["code"] == "unknown_reason_code"
    assert Entry.objects.count() == 1


def test_reading_and_writing_need_their_scopes(caller_with, anonymous):
    reader = caller_with("reference:read")
    refused = reader.put(f"{URL}/tags/doctor", {"name": "Врач"}, key="x")
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    assert not Tag.objects.exists()
    assert reader.get(f"{URL}/reason-codes").status_code == 200
    assert caller_with("members:read").get(f"{URL}/tags").status_code == 403
    assert anonymous.get(f"{URL}/tags").status_code == 401


def test_a_marketer_writes_the_books_with_a_session_and_a_support_agent_only_reads_them(staff):
    marketer, support = Client(), Client()
    marketer.force_login(staff("marketer"))
    support.force_login(staff("support"))
    made = marketer.put(f"{URL}/tags/vip", '{"name": "VIP"}', content_type="application/json",
                        HTTP_IDEMPOTENCY_KEY="s-1")
    assert made.status_code == 201
    assert support.get(f"{URL}/tags").json() == [{"code": "vip", "name": "VIP"}]
    refused = support.put(f"{URL}/tags/vip", '{"name": "V"}', content_type="application/json",
                          HTTP_IDEMPOTENCY_KEY="s-2")
    assert refused.status_code == 403


def test_the_published_schema_types_every_book(db, anonymous):
    document = anonymous.get("/api/v1/openapi.json").json()
    for book in ("tags", "eligibility-flags", "event-types", "lot-categories", "reason-codes"):
        assert {"get", "post"} <= set(document["paths"][f"{URL}/{book}"]), book
        assert "put" in document["paths"][f"{URL}/{book}/{{code}}"], book
    schemas = document["components"]["schemas"]
    assert schemas["CategoryItem"]["properties"]["code"]["not"] == {"enum": ["debt"]}
    assert schemas["CategoryItem"]["properties"]["redemption_rank"]["maximum"] == 32767
    assert schemas["EventTypeItem"]["properties"]["code"]["pattern"] == "^[a-z0-9_-]{1,30}$"
    assert schemas["TagItemBatch"]["properties"]["items"]["maxItems"] == 500
