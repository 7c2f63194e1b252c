"""Personal notices end to end, over a real SMTP server: what happened to a member's points and tier becomes an
e-mail from the kind's template once the worker runs — once, only while the kind is on, and not after its
relevance window."""

from datetime import timedelta

import pytest

from kopilka.communications.models import Message
from kopilka.communications.notice_kinds import Kind
from kopilka.ledger import services as ledger
from kopilka.tiers import services as tiers
from tests.communications.notice_helpers import NOON, reachable, read, switch_on, work
from tests.ledger.conftest import new_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def anna(moments):
    moments.now = NOON
    return reachable("Соколова", "anna@example.ru", first_name="Анна")


def accrue(member, points: int, order: str = "", **fields):
    source = ledger.Source("order", order) if order else ledger.Source()
    return ledger.accrue(member_id=member.pk, points=points, actor="t", idempotency_key=new_key(), source=source,
                         **fields)


def test_the_accruals_of_one_purchase_make_one_notice_sent_once(smtp, anna):
    switch_on(Kind.POINTS_ACCRUED)
    first = accrue(anna, 300, order="77")
    accrue(anna, 200, order="77", category="promo")  # a promo campaign's points of the same order

    assert work() == 1 and work() == 0
    assert read(smtp) == [("anna@example.ru", "Начислено 500 бонусов",
                           "Анна, вам начислено 500 бонусов. Доступно к списанию: 500.")]
    message = Message.objects.get()
    assert (message.kind, message.source, message.status) == ("points_accrued", f"ledger.entry:{first.pk}", "sent")
    assert message.relevant_until == first.effective_at + timedelta(hours=72)


def test_accruals_without_a_source_of_their_own_are_told_one_by_one(smtp, anna):
    switch_on(Kind.POINTS_ACCRUED)
    accrue(anna, 100)
    accrue(anna, 50)
    assert work() == 2
    assert [subject for _to, subject, _text in read(smtp)] == ["Начислено 100 бонусов", "Начислено 50 бонусов"]


def test_spent_points_are_told_with_what_is_left(smtp, anna):
    accrue(anna, 500)
    switch_on(Kind.POINTS_SPENT)
    ledger.spend(member_id=anna.pk, points=120, actor="t", idempotency_key=new_key())

    assert work() == 1
    assert read(smtp) == [("anna@example.ru", "Списано 120 бонусов", "Анна, списано 120 бонусов. Осталось: 380.")]


def test_a_kind_switched_off_tells_nothing_then_or_later(smtp, anna, moments):
    accrue(anna, 300)
    assert work() == 0 and Message.objects.count() == 0

    moments.advance(minutes=1)
    switch_on(Kind.POINTS_ACCRUED)
    assert work() == 0 and not smtp.received  # what happened while it was off is not told afterwards
    accrue(anna, 40)
    assert work() == 1 and [s for _to, s, _t in read(smtp)] == ["Начислено 40 бонусов"]


def test_a_tier_change_is_told_with_the_tier_before(smtp, anna, moments):
    tiers.upsert_tier(code="silver", name="Серебро", rank=1, threshold=0)
    tiers.upsert_tier(code="gold", name="Золото", rank=2, threshold=50000)
    tiers.set_floor(anna.pk, "silver", actor="t", reason="клиент с открытия")  # while the kind is off: never told
    moments.advance(minutes=1)
    switch_on(Kind.TIER_CHANGED)
    tiers.set_floor(anna.pk, "gold", actor="t", reason="подарок")

    assert work() == 1 and work() == 0
    assert read(smtp) == [("anna@example.ru", "Ваш статус: Золото",
                           "Анна, ваш статус теперь «Золото» (был «Серебро»).")]


def test_a_notice_made_after_its_relevance_window_is_recorded_too_late_and_never_sent(smtp, anna, moments):
    switch_on(Kind.POINTS_ACCRUED)
    accrue(anna, 300)
    moments.advance(hours=73)  # the worker was down longer than the template's 72 hours

    assert work() == 0 and not smtp.received
    message = Message.objects.get()
    assert (message.status, message.skip_reason) == ("skipped", "too_late")
