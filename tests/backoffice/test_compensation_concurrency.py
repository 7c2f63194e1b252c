"""On PostgreSQL, an agent's grants sent at once cannot together pass the day's limit: each is judged after the
ones before it."""

import pytest

from kopilka.backoffice import compensation
from kopilka.backoffice.models import CompensationLimit, CompensationRequest
from kopilka.backoffice.roles import SUPPORT
from kopilka.ledger.selectors import balance
from tests.concurrency import run_at_once
from tests.ledger.conftest import make_member

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_ten_grants_at_once_fit_the_days_limit_exactly(staff):
    agent = staff(SUPPORT)
    CompensationLimit.objects.filter(role__name=SUPPORT).update(per_operation=500, per_day=1_000)
    member = make_member()
    results = run_at_once(10, lambda n: compensation.request(
        agent, key=f"burst-{n}", member_id=member.pk, points=300, reason_code="goodwill", comment="Сбой кассы"))
    assert not [r for r in results if isinstance(r, Exception)]
    statuses = sorted(r.status for r in results)
    assert statuses.count(CompensationRequest.Status.GRANTED) == 3  # 900 of 1,000; a fourth would pass it
    assert statuses.count(CompensationRequest.Status.PENDING) == 7
    assert balance(member.pk).available == 900
