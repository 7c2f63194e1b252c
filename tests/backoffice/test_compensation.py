"""Compensation within a role's limits is booked at once; above them it waits for someone else's approval."""

import pytest

from kopilka.backoffice import compensation
from kopilka.backoffice.models import CompensationLimit, CompensationRequest
from kopilka.backoffice.roles import HEAD_OF_SUPPORT, SENIOR_SUPPORT, SUPPORT
from kopilka.core.errors import ApplicationError, PermissionDenied, ValidationFailed
from kopilka.core.models import AuditEvent
from kopilka.customers.models import Member
from kopilka.ledger.models import Entry
from kopilka.ledger.selectors import balance
from tests.ledger.conftest import make_member

pytestmark = pytest.mark.django_db

_keys = iter(range(10**6))


def grant(user, member, points, **kw):
    kw.setdefault("reason_code", "compensation-defect")
    kw.setdefault("comment", "Брак крема")
    return compensation.request(user, key=f"k{next(_keys)}", member_id=member.pk, points=points, **kw)


@pytest.fixture
def limits(staff):
    agent = staff(SUPPORT)
    CompensationLimit.objects.filter(role__name=SUPPORT).update(per_operation=500, per_day=800)
    return agent


def test_within_the_limits_points_are_booked_at_once_with_reason_comment_and_audit(limits):
    member = make_member()
    made = grant(limits, member, 300)
    assert made.status == CompensationRequest.Status.GRANTED
    entry = Entry.objects.get(pk=made.entry_id)
    assert (entry.amount, entry.reason_code, entry.comment, entry.actor) == (
        300, "compensation-defect", "Брак крема", f"user:{limits.username}")
    assert entry.lot.category.code == "compensation"
    assert balance(member.pk).available == 300
    event = AuditEvent.objects.get(action="compensation.granted")
    assert (event.member_id, event.user, event.comment) == (member.pk, limits, "Брак крема")


def test_above_the_operation_limit_or_the_days_rest_it_waits(limits):
    member = make_member()
    assert grant(limits, member, 501).status == CompensationRequest.Status.PENDING
    assert grant(limits, member, 500).status == CompensationRequest.Status.GRANTED
    assert grant(limits, member, 301).status == CompensationRequest.Status.PENDING  # 500 + 301 > 800 a day
    assert grant(limits, member, 300).status == CompensationRequest.Status.GRANTED
    assert balance(member.pk).available == 800
    assert AuditEvent.objects.filter(action="compensation.requested").count() == 2


def test_a_senior_approves_and_the_points_are_booked_once(limits, staff):
    member = make_member()
    waiting = grant(limits, member, 2_000)
    senior = staff(SENIOR_SUPPORT)
    approved = compensation.decide(senior, waiting.pk, approve=True, comment="")
    assert approved.status == CompensationRequest.Status.APPROVED and approved.decided_by == senior
    assert balance(member.pk).available == 2_000
    assert senior.username in Entry.objects.get(pk=approved.entry_id).comment
    with pytest.raises(ValidationFailed):
        compensation.decide(senior, waiting.pk, approve=True, comment="")
    assert balance(member.pk).available == 2_000


def test_a_senior_approves_up_to_the_bound_of_the_role_and_the_head_of_support_above_it(staff):
    member = make_member()
    agent, senior, head = staff(SUPPORT), staff(SENIOR_SUPPORT), staff(HEAD_OF_SUPPORT)
    large = compensation.request(agent, key="big", member_id=member.pk, points=25_000, reason_code="goodwill",
                                 comment="Сорванная поставка")
    with pytest.raises(PermissionDenied) as refused:
        compensation.decide(senior, large.pk, approve=True, comment="")
    assert refused.value.code == "above_approval_limit" and balance(member.pk).available == 0
    small = compensation.request(agent, key="small", member_id=member.pk, points=20_000, reason_code="goodwill",
                                 comment="Задержка")
    assert compensation.decide(senior, small.pk, approve=True, comment="").status == "approved"
    assert compensation.decide(head, large.pk, approve=True, comment="").status == "approved"
    assert balance(member.pk).available == 45_000


def test_nobody_decides_their_own_request_and_agents_cannot_decide_at_all(staff):
    senior = staff(SENIOR_SUPPORT)
    CompensationLimit.objects.filter(role__name=SENIOR_SUPPORT).update(per_operation=10)
    member = make_member()
    waiting = grant(senior, member, 100)
    with pytest.raises(PermissionDenied):
        compensation.decide(senior, waiting.pk, approve=True, comment="")
    with pytest.raises(PermissionDenied):
        compensation.decide(staff(SUPPORT), waiting.pk, approve=True, comment="")
    assert CompensationRequest.objects.get(pk=waiting.pk).status == CompensationRequest.Status.PENDING


def test_a_rejection_needs_a_reason_and_books_nothing(limits, staff):
    member = make_member()
    waiting = grant(limits, member, 5_000)
    senior = staff(SENIOR_SUPPORT)
    with pytest.raises(ValidationFailed):
        compensation.decide(senior, waiting.pk, approve=False, comment=" ")
    rejected = compensation.decide(senior, waiting.pk, approve=False, comment="Нет оснований")
    assert rejected.status == CompensationRequest.Status.REJECTED and rejected.entry_id is None
    assert balance(member.pk).available == 0
    assert AuditEvent.objects.filter(action="compensation.rejected", comment="Нет оснований").exists()


def test_the_same_form_sent_twice_grants_once(limits):
    member = make_member()
    first = compensation.request(limits, key="form-1", member_id=member.pk, points=100,
                                 reason_code="goodwill", comment="x")
    again = compensation.request(limits, key="form-1", member_id=member.pk, points=100,
                                 reason_code="goodwill", comment="x")
    assert first.pk == again.pk and balance(member.pk).available == 100


@pytest.mark.parametrize("points, reason, comment", [(0, "goodwill", "x"), (10, "no-such-reason", "x"),
                                                     (10, "goodwill", "  ")])
def test_bad_input_is_refused_and_changes_nothing(limits, points, reason, comment):
    member = make_member()
    with pytest.raises(ValidationFailed):
        grant(limits, member, points, reason_code=reason, comment=comment)
    assert not CompensationRequest.objects.exists() and not AuditEvent.objects.exists()


def test_a_blocked_member_gets_nothing_and_no_request_is_left(limits):
    member = make_member(status=Member.Status.BLOCKED)
    with pytest.raises(ApplicationError):
        grant(limits, member, 100)
    assert not CompensationRequest.objects.exists() and not Entry.objects.exists()


def test_people_without_the_right_cannot_grant(staff):
    with pytest.raises(PermissionDenied):
        grant(staff("analyst"), make_member(), 10)
