"""What every router shares: the error schema, the Idempotency-Key header, references to members."""

from typing import Any, Literal

from django.utils.translation import gettext as _
from ninja import Header, Schema
from pydantic import BaseModel

from kopilka.core.errors import NotFound, ValidationFailed
from kopilka.customers.selectors import find_member_by_external_id


class ErrorOut(Schema):
    code: str
    message: str
    details: dict[str, Any]


ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}

IdempotencyKey = Header(
    None, alias="Idempotency-Key", description="Unique per write; a replay gets the first answer."
)


class MemberRef(BaseModel):
    """The member by id, or by an id in another system (a card number, a 1C GUID, a web shop id)."""

    id: int | None = None
    system: Literal["onec", "site", "card", "customer"] | None = None
    value: str | None = None


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
