"""Reading the values of a purchase history file: dates and times, and decimal numbers."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from kopilka.orders.transactions_csv import parse_decimal, parse_moment


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-01", datetime(2024, 2, 29, 21, 0, tzinfo=UTC)),
        ("2024-03-01 10:15", datetime(2024, 3, 1, 7, 15, tzinfo=UTC)),
        ("2024-03-01T10:15:30", datetime(2024, 3, 1, 7, 15, 30, tzinfo=UTC)),
        ("2024-03-01T10:15:30+05:00", datetime(2024, 3, 1, 5, 15, 30, tzinfo=UTC)),
        ("2024-03-01T10:15:30Z", datetime(2024, 3, 1, 10, 15, 30, tzinfo=UTC)),
        ("01.03.2024", datetime(2024, 2, 29, 21, 0, tzinfo=UTC)),
        ("1.3.2024 9:05", datetime(2024, 3, 1, 6, 5, tzinfo=UTC)),
        ("01.03.2024 10:15:30", datetime(2024, 3, 1, 7, 15, 30, tzinfo=UTC)),
    ],
)
def test_dates_and_times_naive_ones_in_the_programme_time_zone(text, expected):
    assert parse_moment(text) == expected


@pytest.mark.parametrize(
    "text", ["31.02.2024", "2024-13-01", "2024/03/01", "01.03.24", "01.03.2024 25:00", "вчера"]
)
def test_what_is_not_a_date(text):
    assert parse_moment(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", Decimal("0")),
        ("1500.00", Decimal("1500.00")),
        ("1234,5", Decimal("1234.5")),
        ("1 234,50", Decimal("1234.50")),
        ("1\u00a0234,50", Decimal("1234.50")),
        (".99", Decimal("0.99")),
        ("-5", Decimal("-5")),
    ],
)
def test_decimal_numbers_with_point_or_comma(text, expected):
    assert parse_decimal(text) == expected


@pytest.mark.parametrize("text", ["abc", "1e6", "NaN", "Infinity", "1,234.50", "12.3.4", "", "-"])
def test_what_is_not_a_decimal_number(text):
    assert parse_decimal(text) is None
