"""The purchase history the layers above ask about: sums of money are exact to the kopeck on either database."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from kopilka.customers import services as members
from kopilka.orders.selectors import history_answers, turnover
from tests.factories import stored_order

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 31, 12, tzinfo=UTC)
LARGEST = "999999999999.99"  # the largest total a receipt holds


def test_what_a_member_spent_is_the_exact_sum_where_a_float_sum_loses_a_kopeck():
    """22 receipts of 999 999 999 999.99: summed as floats (SQLite's REAL), 21 999 999 999 999.77; in kopecks, .78;
    a receipt before the 30-day window counts only in all time."""
    member = members.create_member(actor="t", last_name="Опт")
    stored_order(member, NOW - timedelta(days=40), "0.01", lines=[("S-1", "1", "0.01", "0")])
    for hour in range(22):
        stored_order(member, NOW - timedelta(days=1, hours=hour), LARGEST, lines=[("S-1", "1", LARGEST, "0")])

    answers = history_answers(member.pk, NOW, windows=(None, 30))

    assert answers.orders == {None: 23, 30: 22}
    assert answers.spent == {None: Decimal("21999999999999.79"), 30: Decimal("21999999999999.78")}
    assert turnover(member.pk, NOW, [30, 60]) == {30: answers.spent[30], 60: answers.spent[None]}
