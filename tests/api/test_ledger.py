"""The ledger over HTTP: credentials, scopes, idempotency and the error format."""

import pytest
from django.db import connection
from django.test import Client

from kopilka.api.idempotency import request_fingerprint
from kopilka.api.ledger import AccrueIn
from kopilka.core.models import ApiKey, IdempotencyRecord
from kopilka.ledger.models import Entry, Lot

from ..ledger.conftest import make_member


@pytest.fixture
def api(db):
    _, token = ApiKey.issue("pos-test", ["ledger:read", "ledger:write"])
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE="en")


def post(client, url, body, key, **headers):
    return client.post(f"/api/v1/ledger{url}", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key,
                       **headers)


def test_a_purchase_story_over_http(api):
    member = make_member()
    earned = post(api, f"/members/{member.pk}/accruals", {"points": 500, "category": "base"}, "r-1")
    assert earned.status_code == 201
    assert (earned.json()["points"], earned.json()["balance_after"], earned.json()["actor"]) == (
        500, 500, "apikey:pos-test",
    )

    hold = post(api, f"/members/{member.pk}/holds", {"points": 200, "source_ref": "order-9"}, "h-1")
    assert (hold.status_code, hold.json()["status"], hold.json()["points"]) == (201, "active", 200)
    balance = api.get(f"/api/v1/ledger/members/{member.pk}/balance").json()
    assert (balance["available"], balance["held"], balance["total"]) == (300, 200, 500)

    captured = post(api, f"/holds/{hold.json()['id']}/capture", {"points": 150}, "c-1")
    assert (captured.status_code, captured.json()["points"], captured.json()["balance_after"]) == (201, -150, 350)

    returned = post(api, f"/entries/{captured.json()['id']}/return", {"points": 50}, "ret-1")
    assert (returned.status_code, returned.json()["kind"], returned.json()["points"]) == (201, "restore", 50)

    reversed_ = post(api, f"/entries/{earned.json()['id']}/reversal", {"points": 100}, "rev-1")
    assert (reversed_.status_code, reversed_.json()["points"], reversed_.json()["balance_after"]) == (201, -100, 300)

    history = api.get(f"/api/v1/ledger/members/{member.pk}/history?limit=2").json()
    assert [e["kind"] for e in history["items"]] == ["reversal", "restore"]
    rest = api.get(f"/api/v1/ledger/members/{member.pk}/history?limit=2&cursor={history['next_cursor']}").json()
    assert [e["kind"] for e in rest["items"]] == ["spend", "accrual"]
    assert rest["next_cursor"] is None
    spends = api.get(f"/api/v1/ledger/members/{member.pk}/history?kind=spend").json()
    assert [e["points"] for e in spends["items"]] == [-150]


def test_a_replay_returns_the_first_answer_and_books_once(api):
    member = make_member()
    first = post(api, f"/members/{member.pk}/accruals", {"points": 70}, "receipt-77")
    again = post(api, f"/members/{member.pk}/accruals", {"points": 70}, "receipt-77")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert Entry.objects.count() == 1


def test_reusing_a_key_for_another_body_is_refused(api):
    member = make_member()
    post(api, f"/members/{member.pk}/accruals", {"points": 70}, "receipt-78")
    other = post(api, f"/members/{member.pk}/accruals", {"points": 71}, "receipt-78")
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert Entry.objects.count() == 1


@pytest.mark.postgres
def test_a_duplicate_while_the_first_is_in_flight_gets_409_and_a_dead_claim_dies_with_its_connection(api):
    """The first attempt is a transaction of another connection that holds the key; while it lives a duplicate
    is told to wait (409), and the moment that connection dies (a killed process) the retry is served."""
    import psycopg

    from kopilka.api.idempotency import LOCK_SPACE
    from kopilka.runtime.backups import postgres_uri

    member = make_member()
    post(api, f"/members/{member.pk}/accruals", {"points": 5}, "warm-up")
    scope = IdempotencyRecord.objects.get(key="warm-up").principal
    first = psycopg.connect(postgres_uri(connection.settings_dict))
    first.execute("SELECT pg_try_advisory_xact_lock(%s, hashtext(%s))", [LOCK_SPACE, f"{scope}:busy"])
    busy = post(api, f"/members/{member.pk}/accruals", {"points": 70}, "busy")
    assert (busy.status_code, busy.json()["code"]) == (409, "idempotency_in_progress")
    pid = first.info.backend_pid
    first.close()  # the process died: PostgreSQL ends its transaction and the claim with it
    _until_gone(pid)
    retried = post(api, f"/members/{member.pk}/accruals", {"points": 70}, "busy")
    assert retried.status_code == 201 and Entry.objects.filter(amount=70).count() == 1


def test_a_refused_write_leaves_its_key_free_and_no_record(api):
    member = make_member()
    refused = post(api, f"/members/{member.pk}/accruals", {"points": 10**10}, "too-much")
    assert refused.status_code == 422 and not IdempotencyRecord.objects.filter(key="too-much").exists()
    assert post(api, f"/members/{member.pk}/accruals", {"points": 10}, "too-much").status_code == 201


def test_a_record_left_in_progress_by_the_former_claims_is_taken_over(api):
    """Before claims lived in the write's transaction, a crash could leave a record "in progress" for good."""
    member = make_member()
    post(api, f"/members/{member.pk}/accruals", {"points": 5}, "warm-up")
    record = IdempotencyRecord.objects.get(key="warm-up")
    IdempotencyRecord.objects.create(
        principal=record.principal, key="busy", endpoint=f"accrue:{member.pk}",
        request_hash=request_fingerprint(f"accrue:{member.pk}", AccrueIn(points=70)),
    )
    assert post(api, f"/members/{member.pk}/accruals", {"points": 70}, "busy").status_code == 201
    assert IdempotencyRecord.objects.get(key="busy").response_status == 201


def test_writes_need_an_idempotency_key(api):
    member = make_member()
    response = api.post(f"/api/v1/ledger/members/{member.pk}/accruals", {"points": 5}, content_type="application/json")
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_required"
    assert Entry.objects.count() == 0


def test_credentials_and_scopes_are_required(db):
    member = make_member()
    anonymous = Client().post(f"/api/v1/ledger/members/{member.pk}/accruals", {"points": 5},
                              content_type="application/json", HTTP_IDEMPOTENCY_KEY="x")
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "unauthenticated")
    _, token = ApiKey.issue("reader", ["ledger:read"])
    reader = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    refused = reader.post(f"/api/v1/ledger/members/{member.pk}/accruals", {"points": 5},
                          content_type="application/json", HTTP_IDEMPOTENCY_KEY="x")
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    assert reader.get(f"/api/v1/ledger/members/{member.pk}/balance").status_code == 200
    wrong = Client(HTTP_AUTHORIZATION="Bearer kpk_nope_nope").get(f"/api/v1/ledger/members/{member.pk}/balance")
    assert wrong.status_code == 401
    assert Entry.objects.count() == 0


@pytest.mark.parametrize(
    "body, code",
    [
        ({"points": -5}, "validation_error"),
        ({"points": "many"}, "validation_error"),
        ({"points": 5, "expires_at": "31.12.2026"}, "validation_error"),
        ({"points": 5, "expires_at": "2020-01-01T00:00:00Z"}, "invalid_dates"),
        ({"points": 5, "category": "gold"}, "unknown_category"),
        ({"points": 10**10}, "invalid_points"),
    ],
)
def test_bad_input_gets_a_coded_error_and_changes_nothing(api, body, code):
    member = make_member()
    response = post(api, f"/members/{member.pk}/accruals", body, f"bad-{code}")
    assert response.status_code in (400, 422)
    assert response.json()["code"] == code
    assert set(response.json()) == {"code", "message", "details"}
    assert Entry.objects.count() == 0
    assert not IdempotencyRecord.objects.filter(key=f"bad-{code}").exists()


def test_errors_speak_russian_by_default(db):
    _, token = ApiKey.issue("ru", ["ledger:read", "ledger:write"])
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    member = make_member()
    response = post(client, f"/members/{member.pk}/spendings", {"points": 5}, "ru-1")
    assert response.json() == {
        "code": "insufficient_points",
        "message": "Недостаточно баллов.",
        "details": {"requested": 5, "available": 0},
    }


def test_unknown_member_is_a_404(api):
    response = post(api, "/members/424242/accruals", {"points": 5}, "ghost")
    assert (response.status_code, response.json()["code"]) == (404, "member_not_found")


# --- what an accrual may name as its source -----------------------------------------------------------------


def test_an_integration_names_its_own_source_and_the_lot_keeps_it(api):
    member = make_member()
    body = {"points": 40, "source_kind": "partner", "source_ref": "Акт № 15/2026"}
    earned = post(api, f"/members/{member.pk}/accruals", body, "src-ok")
    assert earned.status_code == 201
    assert (earned.json()["source_kind"], earned.json()["source_ref"]) == ("partner", "Акт № 15/2026")
    lot = Lot.objects.get()
    assert (lot.source_kind, lot.source_ref, lot.amount) == ("partner", "Акт № 15/2026", 40)


@pytest.mark.parametrize("kind, ref", [("campaign", "no-such-campaign:v9"), ("campaign", "spring:v1"),
                                       ("order", "1001"), ("compensation", "7"), ("debt", "")])
def test_the_platforms_own_source_kinds_are_refused_and_nothing_is_booked(api, kind, ref):
    """A lot of kind "campaign" would spend under that campaign's rules: only the campaign grants one."""
    member = make_member()
    body = {"points": 40, "source_kind": kind, "source_ref": ref}
    response = post(api, f"/members/{member.pk}/accruals", body, f"src-{kind}")
    assert (response.status_code, response.json()["code"]) == (422, "source_kind_reserved")
    assert response.json()["details"] == {"field": "source_kind", "value": kind,
                                          "reserved": ["campaign", "compensation", "debt", "order"]}
    assert response.json()["message"] == (
        f"The source kind “{kind}” is written by the platform itself (campaign, compensation, debt, order); "
        "name the source of your points with a kind of your own, e.g. “manual” or “partner”.")
    assert (Entry.objects.count(), Lot.objects.count()) == (0, 0)
    assert not IdempotencyRecord.objects.filter(key=f"src-{kind}").exists()


@pytest.mark.parametrize("kind, ref, field", [
    ("Partner", "", "source_kind"), ("", "", "source_kind"), ("7eleven", "", "source_kind"),
    ("a" * 41, "", "source_kind"), ("partner", "A\n1", "source_ref"), ("partner", " A-1", "source_ref"),
    ("partner", "A  1", "source_ref"), ("partner", "<script>", "source_ref"),
    ("partner", "x" * 101, "source_ref"),
])
def test_a_malformed_source_is_refused_and_nothing_is_booked(api, kind, ref, field):
    member = make_member()
    body = {"points": 40, "source_kind": kind, "source_ref": ref}
    response = post(api, f"/members/{member.pk}/accruals", body, "src-bad")
    assert (response.status_code, response.json()["code"]) == (422, "source_invalid")
    assert response.json()["details"]["field"] == field
    assert (Entry.objects.count(), Lot.objects.count()) == (0, 0)


def test_a_reserved_source_is_refused_in_russian_by_default(db):
    _, token = ApiKey.issue("ru-src", ["ledger:write"])
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    member = make_member()
    body = {"points": 5, "source_kind": "campaign"}
    response = post(client, f"/members/{member.pk}/accruals", body, "ru-src")
    assert response.json()["message"] == (
        "Вид источника «campaign» записывает сама платформа (campaign, compensation, debt, order); "
        "назовите источник своих баллов своим видом, например «manual» или «partner».")


def test_the_published_schema_says_which_sources_an_accrual_accepts(db):
    schema = Client().get("/api/v1/openapi.json").json()["components"]["schemas"]["AccrueIn"]["properties"]
    assert schema["source_kind"]["not"] == {"enum": ["campaign", "compensation", "debt", "order"]}
    kind = schema["source_kind"]
    assert (kind["pattern"], kind["minLength"], kind["maxLength"]) == ("^[a-z][a-z0-9_-]*$", 1, 40)
    assert schema["source_ref"]["maxLength"] == 100


def test_an_answer_committed_between_the_read_and_the_claim_is_given_and_the_second_work_undone(caller_with,
                                                                                               monkeypatch):
    """Another transaction held the key and committed its answer after this one's read: this one's insert of the
    record finds it, its own work is rolled back, and the stored answer is given."""
    from kopilka.api import idempotency
    from kopilka.customers.models import Member

    writer = caller_with("members:write")
    first = writer.post("/api/v1/members/", {"last_name": "Петрова"}, key="new-member")
    assert first.status_code == 201
    monkeypatch.setattr(idempotency, "_lock_and_read", lambda principal, key: (True, None))  # as if read too early

    again = writer.post("/api/v1/members/", {"last_name": "Петрова"}, key="new-member")

    assert (again.status_code, again.json()) == (201, first.json())
    assert Member.objects.filter(last_name="Петрова").count() == 1


def _until_gone(pid: int, seconds: float = 30) -> None:
    """Wait until PostgreSQL's backend `pid` has exited (a closed connection's backend ends a moment later)."""
    import time

    deadline = time.monotonic() + seconds
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid])
            if cursor.fetchone() is None:
                return
            time.sleep(0.05)
