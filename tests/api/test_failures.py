"""What a client gets when the server fails rather than refuses: never an HTML page. A write that keeps meeting
deadlocks is run again, and if that does not help it is answered 503 with Retry-After in the API's error shape;
anything unexpected is 500 in the same shape."""

import psycopg.errors
import pytest
from django.db import OperationalError

from kopilka.core import retrying
from kopilka.customers import services as members
from kopilka.purchases import flow

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)  # retried: the outermost one
CART = {"lines": [{"sku": "CREAM", "quantity": 1, "price": "100"}]}


@pytest.fixture
def till(caller_with):
    return caller_with("purchases:read", "purchases:write")


@pytest.fixture
def placed(till):
    member = members.create_member(actor="t", last_name="Иванова")
    response = till.post("/api/v1/purchases/", {**CART, "member": {"id": member.pk}, "order_id": "R-1"}, key="p-1")
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def deadlocking(times: int, then=None):
    """A stand-in for flow.pay that meets a deadlock `times` times, then does what `then` does."""
    calls = []

    def pay(order_id, *, actor):
        calls.append(order_id)
        if len(calls) <= times:
            raise OperationalError("deadlock detected") from psycopg.errors.DeadlockDetected("deadlock detected")
        return then(order_id, actor=actor)

    pay.calls = calls
    return pay


def test_a_deadlock_met_once_is_run_again_and_answered_as_usual(till, placed, monkeypatch):
    pay = deadlocking(1, then=flow.pay)
    monkeypatch.setattr(flow, "pay", pay)
    monkeypatch.setattr(retrying.time, "sleep", lambda seconds: None)

    response = till.post(f"/api/v1/purchases/{placed}/pay", {}, key="pay-1")

    assert (response.status_code, response.json()["status"], len(pay.calls)) == (200, "paid", 2)


def test_a_write_that_keeps_deadlocking_is_503_with_retry_after_and_its_key_may_be_sent_again(till, placed,
                                                                                                monkeypatch):
    pay = deadlocking(99)
    monkeypatch.setattr(flow, "pay", pay)
    monkeypatch.setattr(retrying.time, "sleep", lambda seconds: None)

    response = till.post(f"/api/v1/purchases/{placed}/pay", {}, key="pay-1")

    assert response.status_code == 503
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response["Retry-After"] == "1"
    assert (response.json()["code"], response.json()["details"]) == ("try_again", {"cause": "deadlock_detected"})
    assert len(pay.calls) == retrying.ATTEMPTS
    monkeypatch.undo()
    again = till.post(f"/api/v1/purchases/{placed}/pay", {}, key="pay-1")
    assert (again.status_code, again.json()["status"]) == (200, "paid")


def test_an_unexpected_failure_is_500_in_the_error_shape_and_changes_nothing(till, placed, monkeypatch):
    def broken(order_id, *, actor):
        flow.complete  # noqa: B018 - the stand-in fails before doing anything
        raise RuntimeError("a bug")

    monkeypatch.setattr(flow, "pay", broken)

    response = till.post(f"/api/v1/purchases/{placed}/pay", {}, key="pay-1")

    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
    assert till.get(f"/api/v1/purchases/{placed}").json()["status"] == "new"
