"""Reads of members: by id, by external id, and search by every key with keyset pages."""

import pytest

from kopilka.core.errors import NotFound, ValidationFailed
from kopilka.customers import selectors, services
from kopilka.customers.models import Member

pytestmark = pytest.mark.django_db


@pytest.fixture
def people() -> dict[str, Member]:
    """Four members: two share a family phone, one is a company, one is erased."""
    anna = services.create_member(actor="t", 
        last_name="Королёва",
        first_name="Анна",
        phone="+7 912 345-67-89",
        email="Anna@Example.ru",
        external_ids=[("site", "u-1"), ("card", "2000000000017")],
    )
    petr = services.create_member(actor="t", 
        last_name="Королев", first_name="Пётр", phone="89123456789", external_ids=[("onec", "guid-petr")]
    )
    company = services.create_member(actor="t", 
        kind="legal_entity",
        legal_name='ООО "Клиника Анна"',
        inn="7736207543",
        phone="+7 495 000-00-01",
        external_ids=[("onec", "guid-clinic")],
    )
    erased = services.create_member(actor="t", first_name="Ирина", phone="+7 912 345-67-89")
    services.erase_member(member_id=erased.pk, actor="user:dpo")
    services.block_member(member_id=petr.pk, reason="Проверка", actor="user:support")
    return {"anna": anna, "petr": petr, "company": company, "erased": erased}


def _ids(page: selectors.MemberPage) -> list[int]:
    return [m.pk for m in page.items]


def test_get_member_loads_its_relations(people):
    member = selectors.get_member(people["anna"].pk)

    assert member.display_name == "Королёва Анна"
    assert sorted((e.system, e.value) for e in member.external_ids.all()) == [
        ("card", "2000000000017"),
        ("site", "u-1"),
    ]


def test_get_missing_member_is_not_found():
    with pytest.raises(NotFound) as refused:
        selectors.get_member(12345)

    assert (refused.value.code, refused.value.details) == ("member_not_found", {"member_id": 12345})


def test_find_member_by_external_id(people):
    assert selectors.find_member_by_external_id(system="onec", value="guid-petr").pk == people["petr"].pk
    assert selectors.find_member_by_external_id(system="site", value="guid-petr") is None
    assert selectors.find_member_by_external_id(system="onec", value="guid-nobody") is None


@pytest.mark.parametrize("phone", ["+79123456789", "8 (912) 345-67-89", "9123456789"])
def test_search_by_phone_in_any_form(people, phone):
    page = selectors.search_members(phone=phone)

    assert _ids(page) == [people["anna"].pk, people["petr"].pk]


def test_search_by_invalid_phone_is_refused(people):
    with pytest.raises(ValidationFailed) as refused:
        selectors.search_members(phone="12-34")

    assert refused.value.details == {"field": "phone"}


def test_search_by_email_ignores_letter_case(people):
    assert _ids(selectors.search_members(email=" ANNA@example.RU ")) == [people["anna"].pk]
    assert _ids(selectors.search_members(email="anna@example.com")) == []


def test_search_by_inn(people):
    assert _ids(selectors.search_members(inn="7736207543")) == [people["company"].pk]
    assert _ids(selectors.search_members(inn="7707083893")) == []


def test_search_by_external_id_with_and_without_system(people):
    assert _ids(selectors.search_members(external_id="2000000000017", system="card")) == [people["anna"].pk]
    assert _ids(selectors.search_members(external_id="2000000000017", system="site")) == []
    assert _ids(selectors.search_members(external_id="guid-clinic")) == [people["company"].pk]
    assert _ids(selectors.search_members(system="onec")) == [people["petr"].pk, people["company"].pk]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("королева", ["anna"]),
        ("КОРОЛЁВ", ["anna", "petr"]),
        ("корол анна", ["anna"]),
        ("Анна", ["anna", "company"]),
        ("клиника анна", ["company"]),
        ("ролев", []),
        ("королева ирина", []),
        ("ирина", []),
        ("77362", ["company"]),
    ],
)
def test_search_by_name_needs_every_word_to_begin_a_word(people, name, expected):
    assert _ids(selectors.search_members(name=name)) == [people[key].pk for key in expected]


def test_search_by_name_without_letters_is_refused(people):
    with pytest.raises(ValidationFailed) as refused:
        selectors.search_members(name=" -- ")

    assert refused.value.details == {"field": "name"}


def test_search_by_status(people):
    assert _ids(selectors.search_members(status="blocked")) == [people["petr"].pk]
    assert _ids(selectors.search_members(status="deleted")) == [people["erased"].pk]
    with pytest.raises(ValidationFailed):
        selectors.search_members(status="frozen")


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("королева анна", ["anna"]),
        ("8 912 345 67 89", ["anna", "petr"]),
        ("anna@example.ru", ["anna"]),
        ("7736207543", ["company"]),
        ("guid-petr", ["petr"]),
        ("2000000000017", ["anna"]),
        ("77362", ["company"]),  # the start of an ИНН, read as a word of the names
    ],
)
def test_search_by_anything(people, q, expected):
    assert _ids(selectors.search_members(q=q)) == [people[key].pk for key in expected]


def test_filters_combine(people):
    assert _ids(selectors.search_members(phone="+79123456789", status="active")) == [people["anna"].pk]
    assert _ids(selectors.search_members(name="королев", external_id="guid-petr")) == [people["petr"].pk]


def test_keyset_pages_walk_every_member_once(people):
    all_ids = sorted(m.pk for m in people.values())

    first = selectors.search_members(limit=3)
    second = selectors.search_members(limit=3, cursor=first.next_cursor)

    assert (_ids(first), first.next_cursor) == (all_ids[:3], all_ids[2])
    assert (_ids(second), second.next_cursor) == (all_ids[3:], None)


def test_page_that_ends_exactly_at_the_last_member_has_no_next_cursor(people):
    page = selectors.search_members(limit=4)

    assert (len(page.items), page.next_cursor) == (4, None)


@pytest.mark.parametrize("limit", [0, 201])
def test_page_size_out_of_range_is_refused(limit):
    with pytest.raises(ValidationFailed) as refused:
        selectors.search_members(limit=limit)

    assert refused.value.details == {"field": "limit", "max": 200}
