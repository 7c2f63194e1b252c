"""What every router shares: the error schema, the Idempotency-Key header, references to members, the published
shapes of codes, decimals and text.

Invariant: every string a body or query takes states its maxLength, which ninja enforces before a route runs
(a 422 `validation_error` naming the field): a column's length for text stored in it (`length_of`), LONG_TEXT for
free text, or the limit of the input form that a service normalises."""

from decimal import Decimal
from typing import Annotated, Any, Literal

from django.db.models import Model
from django.utils.translation import gettext as _
from ninja import Field, Header, Path, Schema
from pydantic import BaseModel, WithJsonSchema

from kopilka.core.errors import NotFound, ValidationFailed
from kopilka.customers.models import ExternalId
from kopilka.customers.selectors import find_member_by_external_id


class ErrorOut(Schema):
    code: str
    message: str
    details: dict[str, Any]


ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}

# What the schema promises, the API accepts: a code as `core.errors` validates it, text with something but spaces.
CODE_PATTERN = r"^[-a-zA-Z0-9_]+$"
SOME_TEXT = r"\S"
# Free text kept in a TextField (a tier's privileges, a ledger comment): as long as anyone writes by hand.
LONG_TEXT = 2000


def length_of(model: type[Model], field: str) -> int:
    """The length of `model.field`'s column: the longest text an API field stored there states and takes (a
    column without one, a TextField, is refused: its API field takes LONG_TEXT)."""
    limit = model._meta.get_field(field).max_length
    if limit is None:
        raise TypeError(f"{model.__name__}.{field} has no length")
    return limit


def code_path(max_length: int):
    """A path parameter holding a code of at most `max_length` characters."""
    return Path(..., pattern=CODE_PATTERN, max_length=max_length)


def decimal_schema(digits: int, places: int, *, positive: bool = False, nullable: bool = False) -> WithJsonSchema:
    """The published schema of a decimal with at most `digits` digits, `places` of them after the point: a whole
    JSON number, or a string with the fraction (a binary fraction could not promise the places)."""
    whole = digits - places
    if positive:
        text = rf"^([1-9]\d{{0,{whole - 1}}}(\.\d{{1,{places}}})?|0\.\d{{0,{places - 1}}}[1-9])$"
    else:
        text = rf"^\d{{1,{whole}}}(\.\d{{1,{places}}})?$"
    options: list[dict[str, Any]] = [
        {"type": "integer", "minimum": 1 if positive else 0, "maximum": 10**whole - 1},
        {"type": "string", "pattern": text, "maxLength": digits + 1},
    ]
    if nullable:
        options.append({"type": "null"})
    return WithJsonSchema({"anyOf": options})


Quantity = Annotated[Decimal, decimal_schema(12, 3, positive=True)]
Amount = Annotated[Decimal, decimal_schema(14, 2)]
OptionalAmount = Annotated[Decimal | None, decimal_schema(14, 2, nullable=True)]

IdempotencyKey = Header(
    None, alias="Idempotency-Key", description="Unique per write; a replay gets the first answer."
)


class MemberRef(BaseModel):
    """The member by id, or by an id in another system (a card number, a 1C GUID, a web shop id)."""

    id: int | None = None
    system: Literal["onec", "site", "card", "customer"] | None = None
    value: str | None = Field(None, max_length=length_of(ExternalId, "value"))


def member_id_of(ref: MemberRef | None) -> int | None:
    """The member's id from a reference; None for none."""
    if ref is None:
        return None
    if ref.id is not None:
        return ref.id
    if ref.system and ref.value:
        member = find_member_by_external_id(system=ref.system, value=ref.value)
        if member is None:
            raise NotFound(_("No member has this id."), code="member_not_found",
                           details={"system": ref.system, "value": ref.value})
        return member.pk
    raise ValidationFailed(_("Name the member by id, or by system and value."), code="member_ref_invalid")
