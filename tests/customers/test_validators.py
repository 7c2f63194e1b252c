"""ИНН, КПП, phone and e-mail: real numbers in, normal forms or refusals out."""

import pytest

from kopilka.core.errors import ValidationFailed
from kopilka.customers.validators import (
    inn_checksum_is_valid,
    normalise_email,
    normalise_phone,
    validate_inn,
    validate_kpp,
)

# Published ИНН of real organisations (Сбербанк, Яндекс, Газпром) and persons' ИНН with valid check digits.
REAL_ORGANISATION_INNS = ["7707083893", "7736207543", "7736050003"]
VALID_PERSON_INNS = ["500100732259", "540123456723", "770100000142"]


@pytest.mark.parametrize("inn", REAL_ORGANISATION_INNS + VALID_PERSON_INNS)
def test_valid_inn_is_returned_as_is(inn):
    assert inn_checksum_is_valid(inn)
    assert validate_inn(inn) == inn


def test_inn_is_stripped_of_surrounding_spaces():
    assert validate_inn("  7707083893 \n") == "7707083893"


@pytest.mark.parametrize(
    "inn",
    [
        "7707083894",  # last digit of Сбербанк's ИНН changed
        "7707083839",  # two digits swapped
        "500100732258",  # the 12th digit wrong
        "500100732249",  # the 11th digit wrong
        "0000000000",  # sums to a valid check digit, but 00 is no region
    ],
)
def test_inn_with_wrong_check_digits_is_refused(inn):
    with pytest.raises(ValidationFailed) as refused:
        validate_inn(inn)

    assert refused.value.code == "invalid_inn"
    assert refused.value.details == {"field": "inn"}
    assert "check digits" in str(refused.value.message)


@pytest.mark.parametrize(
    "inn",
    ["", "770708389", "77070838931", "77070838 93", "77070838ab", "７７０７０８３８９３", "5001007322591"],
)
def test_inn_of_wrong_shape_is_refused(inn):
    with pytest.raises(ValidationFailed) as refused:
        validate_inn(inn, field="company_inn")

    assert refused.value.code == "invalid_inn"
    assert refused.value.details == {"field": "company_inn"}
    assert "10 digits" in str(refused.value.message)


def test_checksum_is_false_for_anything_but_10_or_12_digits():
    assert not inn_checksum_is_valid("77070838")
    assert not inn_checksum_is_valid("77O7083893")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("773601001", "773601001"),
        ("7736AB001", "7736AB001"),
        (" 7736ab001 ", "7736AB001"),
        ("5401Z1999", "5401Z1999"),
    ],
)
def test_valid_kpp_is_upper_cased(raw, expected):
    assert validate_kpp(raw) == expected


@pytest.mark.parametrize(
    "kpp",
    ["", "77360100", "7736010011", "77A601001", "7736АВ001", "7736-0100", "773601A01"],
)
def test_kpp_of_wrong_shape_is_refused(kpp):
    with pytest.raises(ValidationFailed) as refused:
        validate_kpp(kpp)

    assert refused.value.code == "invalid_kpp"
    assert refused.value.details == {"field": "kpp"}


@pytest.mark.parametrize(
    "raw",
    [
        "+79123456789",
        "+7 (912) 345-67-89",
        "+7 912 345 67 89",
        "8 (912) 345-67-89",
        "89123456789",
        "79123456789",
        "9123456789",
        "8.912.345.67.89",
        "\u00a0+7\u00a0912\u00a0345-67-89 ",
    ],
)
def test_phone_in_any_common_form_is_normalised(raw):
    assert normalise_phone(raw) == "+79123456789"


def test_city_and_toll_free_numbers_are_kept():
    assert normalise_phone("+7 (495) 123-45-67") == "+74951234567"
    assert normalise_phone("8 800 555-35-35") == "+78005553535"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "12345",
        "abc",
        "+8 912 345 67 89",
        "+380501234567",
        "+7 012 345 67 89",
        "8 112 345 67 89",
        "89123456789 ext 12",
        "891234567",
        "891234567890",
        "+7912345678",
        "7+9123456789",
        "+7 912 345 67 89 / 2",
    ],
)
def test_garbage_phone_is_refused(raw):
    with pytest.raises(ValidationFailed) as refused:
        normalise_phone(raw, field="contact_phone")

    assert refused.value.code == "invalid_phone"
    assert refused.value.details == {"field": "contact_phone"}


def test_email_is_stripped_and_lower_cased():
    assert normalise_email("  Ivan.Petrov@Example.RU ") == "ivan.petrov@example.ru"


@pytest.mark.parametrize(
    "raw", ["", "ivan", "ivan@", "@example.ru", "ivan@@example.ru", "ivan petrov@example.ru"]
)
def test_invalid_email_is_refused(raw):
    with pytest.raises(ValidationFailed) as refused:
        normalise_email(raw)

    assert refused.value.code == "invalid_email"
    assert refused.value.details == {"field": "email"}
