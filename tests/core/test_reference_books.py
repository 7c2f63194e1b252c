"""Writing a reference book: codes and names checked per entry, refusals name the entry, all or nothing."""

import pytest

from kopilka.core import reference_books
from kopilka.core.errors import ValidationFailed
from kopilka.customers.models import Tag

pytestmark = pytest.mark.django_db


def _refusal(items) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as refused:
        reference_books.upsert(Tag, items, fields=("name",))
    return refused.value


def test_new_codes_are_created_known_ones_updated_in_the_batchs_order():
    Tag.objects.create(code="b", name="Б")
    done = reference_books.upsert(Tag, [{"code": "c", "name": " В "}, {"code": "b", "name": "Бэ"}],
                                  fields=("name",))
    assert (done.created, done.updated) == (["c"], ["b"])
    assert list(Tag.objects.order_by("code").values_list("code", "name")) == [("b", "Бэ"), ("c", "В")]


@pytest.mark.parametrize("items, code, details", [
    ([], "nothing_to_write", {}),
    ([{"code": "ok", "name": "А"}, {"code": "x" * 61, "name": "Б"}], "validation_error",
     {"item": 1, "field": "code", "value": "x" * 61}),
    ([{"code": "не-латиница", "name": "А"}], "validation_error",
     {"item": 0, "field": "code", "value": "не-латиница"}),
    ([{"code": "a", "name": " "}], "validation_error", {"item": 0, "field": "name", "value": " "}),
    ([{"code": "a", "name": "А"}, {"code": "a", "name": "Б"}], "duplicate_code",
     {"item": 1, "field": "code", "value": "a", "first_item": 0}),
])
def test_a_bad_entry_is_refused_by_its_place_in_the_batch_and_nothing_is_written(items, code, details):
    refusal = _refusal(items)
    assert (refusal.code, refusal.details) == (code, details)
    assert not Tag.objects.exists()
