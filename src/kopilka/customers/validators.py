"""Checks and normal forms of a member's identifiers: ИНН, КПП, phone, e-mail.

Each function takes raw input and returns the normal form, or raises ValidationFailed whose
`details["field"]` names the input field. Blank input is the caller's business: these functions
validate a value that was given.
"""

import re

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

from kopilka.core.errors import ValidationFailed

LEGAL_ENTITY_INN_LENGTH = 10
INDIVIDUAL_INN_LENGTH = 12

# The official weights of the ИНН check digits (Приказ ФНС: 10-digit ИНН of an organisation,
# 12-digit ИНН of a person; the last one or two digits are the check digits).
_INN10_WEIGHTS = (2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12_WEIGHTS_11 = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12_WEIGHTS_12 = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)

# КПП: tax office code (4 digits), reason code (2 digits or capital Latin letters), serial number (3 digits).
_KPP = re.compile(r"[0-9]{4}[0-9A-Z]{2}[0-9]{3}")
_DIGITS = re.compile(r"[0-9]+")
# What a person may type between the digits of a phone number.
_PHONE_SEPARATORS = re.compile(r"[\s()\-.]")


def _check_digit(digits: str, weights: tuple[int, ...]) -> str:
    return str(sum(int(d) * w for d, w in zip(digits, weights, strict=False)) % 11 % 10)


def inn_checksum_is_valid(inn: str) -> bool:
    """True when `inn` is 10 or 12 ASCII digits whose check digits match the official weights."""
    if not _DIGITS.fullmatch(inn):
        return False
    if len(inn) == LEGAL_ENTITY_INN_LENGTH:
        return inn[9] == _check_digit(inn, _INN10_WEIGHTS)
    if len(inn) == INDIVIDUAL_INN_LENGTH:
        return inn[10] == _check_digit(inn, _INN12_WEIGHTS_11) and inn[11] == _check_digit(
            inn, _INN12_WEIGHTS_12
        )
    return False


def legal_entity_inn(first_nine: str) -> str:
    """The 10-digit ИНН of an organisation whose first nine digits are given, with its check digit."""
    if len(first_nine) != LEGAL_ENTITY_INN_LENGTH - 1 or not _DIGITS.fullmatch(first_nine):
        raise ValueError("nine digits expected")
    return first_nine + _check_digit(first_nine, _INN10_WEIGHTS)


def validate_inn(value: str, *, field: str = "inn") -> str:
    """The ИНН without surrounding spaces; 10 digits (organisation) or 12 (person), check digits valid.

    The first two digits are a region code, so an ИНН starting with "00" is refused even if its sum matches.
    """
    inn = value.strip()
    if not _DIGITS.fullmatch(inn) or len(inn) not in (LEGAL_ENTITY_INN_LENGTH, INDIVIDUAL_INN_LENGTH):
        raise ValidationFailed(
            _("An INN consists of 10 digits (an organisation) or 12 digits (a person)."),
            code="invalid_inn",
            details={"field": field},
        )
    if inn.startswith("00") or not inn_checksum_is_valid(inn):
        raise ValidationFailed(
            _("This INN does not exist: its check digits do not match."),
            code="invalid_inn",
            details={"field": field},
        )
    return inn


def validate_kpp(value: str, *, field: str = "kpp") -> str:
    """The КПП upper-cased: 4 digits, 2 digits or capital Latin letters, 3 digits."""
    kpp = value.strip().upper()
    if not _KPP.fullmatch(kpp):
        raise ValidationFailed(
            _("A KPP consists of 9 characters: 4 digits, 2 digits or Latin capital letters, then 3 digits."),
            code="invalid_kpp",
            details={"field": field},
        )
    return kpp


def normalise_phone(value: str, *, field: str = "phone") -> str:
    """A Russian phone number as +7XXXXXXXXXX.

    Accepted: +7 or 8 or 7 followed by the 10-digit national number, or the national number alone, with
    spaces, brackets, dots and hyphens anywhere. The national number never starts with 0, 1 or 2.
    """
    compact = _PHONE_SEPARATORS.sub("", value)
    digits = compact[1:] if compact.startswith("+") else compact
    national = None
    if _DIGITS.fullmatch(digits):
        if compact.startswith("+"):
            national = digits[1:] if len(digits) == 11 and digits[0] == "7" else None
        elif len(digits) == 11 and digits[0] in "78":
            national = digits[1:]
        elif len(digits) == 10:
            national = digits
    if national is None or national[0] in "012":
        raise ValidationFailed(
            _("Enter a Russian phone number: +7 and 10 digits, for example +7 912 345-67-89."),
            code="invalid_phone",
            details={"field": field},
        )
    return "+7" + national


def normalise_email(value: str, *, field: str = "email") -> str:
    """The address without surrounding spaces, lower-cased, valid by Django's rules."""
    email = value.strip().lower()
    try:
        validate_email(email)
    except DjangoValidationError:
        raise ValidationFailed(
            _("Enter a valid e-mail address."), code="invalid_email", details={"field": field}
        ) from None
    return email
