"""An array parameter written as PostgreSQL's text literal reads back as the values it was made of."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import models

from kopilka.core import sql

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


class Kind(models.TextChoices):
    ACCRUAL = "accrual"


def read_back(values: list, cast: str) -> list:
    return sql.rows(f"SELECT %s::{cast}", [sql.array(values)])[0][0]


def test_text_keeps_quotes_backslashes_separators_and_words_that_mean_null():
    texts = ['a "quoted" word', "back\\slash", "a,b{c}", "NULL", "", "  spaced  ", "Ёлка", Kind.ACCRUAL, None]

    assert read_back(texts, "text[]") == ["a \"quoted\" word", "back\\slash", "a,b{c}", "NULL", "", "  spaced  ",
                                          "Ёлка", "accrual", None]


def test_numbers_timestamps_and_json_keep_their_values():
    moment = datetime(2026, 12, 6, 7, 8, 9, 123456, tzinfo=UTC)

    assert read_back([1, -2, 2**62, None], "bigint[]") == [1, -2, 2**62, None]
    assert read_back([Decimal("12.50"), Decimal("1E+3")], "numeric[]") == [Decimal("12.50"), Decimal("1000")]
    assert read_back([moment], "timestamptz[]") == [moment]
    assert read_back(['{"line": "a \\"b\\""}'], "jsonb[]") == [{"line": 'a "b"'}]
    assert read_back([], "bigint[]") == []


@pytest.mark.parametrize("value", [True, 1.5, datetime(2026, 12, 6), b"bytes"])
def test_what_has_no_exact_literal_is_refused(value):
    with pytest.raises(TypeError):
        sql.array([value])
