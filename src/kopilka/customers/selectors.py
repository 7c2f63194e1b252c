"""Reads of members (SPEC §1): one member, a member by an id in another system, search with keyset pages."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from kopilka.core.errors import ValidationFailed
from kopilka.customers.errors import member_not_found
from kopilka.customers.models import Consent, ExternalId, Member, Region
from kopilka.customers.search_text import words
from kopilka.customers.validators import normalise_phone

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


@dataclass(frozen=True)
class MemberPage:
    """Members in id order; `next_cursor` is the last id on this page when another page follows, else None."""

    items: list[Member]
    next_cursor: int | None


def members_with_details() -> QuerySet[Member]:
    """Members with what their description shows loaded in a fixed number of queries."""
    return Member.objects.select_related("region", "city").prefetch_related(
        "tags", "eligibility_flags", "external_ids"
    )


def member_names(member_ids: Iterable[int]) -> dict[int, str]:
    """How each of the members is shown in lists (one query)."""
    only = ("kind", "legal_name", "last_name", "first_name", "middle_name")
    return {member.pk: str(member) for member in Member.objects.filter(pk__in=list(member_ids)).only(*only)}


def get_member(member_id: int) -> Member:
    member = members_with_details().filter(pk=member_id).first()
    if member is None:
        raise member_not_found(member_id)
    return member


def find_member_by_external_id(*, system: str, value: str) -> Member | None:
    return (
        members_with_details().filter(external_ids__system=system, external_ids__value=value.strip()).first()
    )


def consents_in_force(member_ids: Iterable[int]) -> dict[int, dict[str, Consent]]:
    """For each member, the newest decision per channel (later decided_at wins; on a tie, the later row)."""
    in_force: dict[int, dict[str, Consent]] = {}
    rows = Consent.objects.filter(member_id__in=list(member_ids)).order_by(
        "member_id", "channel", "-decided_at", "-id"
    )
    for consent in rows:
        in_force.setdefault(consent.member_id, {}).setdefault(consent.channel, consent)
    return in_force


def list_regions() -> QuerySet[Region]:
    return Region.objects.order_by("code")


def search_members(
    *,
    q: str | None = None,
    phone: str | None = None,
    email: str | None = None,
    inn: str | None = None,
    external_id: str | None = None,
    system: str | None = None,
    name: str | None = None,
    status: str | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
    cursor: int | None = None,
) -> MemberPage:
    """Members matching every given filter, ordered by id, `limit` at a time after the id `cursor`.

    - `phone` is normalised first, so "8 (912) 345-67-89" finds +79123456789; `email` is matched lower-cased;
    - `name`: every word must begin a word of the names, legal name or ИНН (letter case and ё/е ignored);
    - `external_id` with `system` finds that pair; `external_id` alone, in any system; `system` alone,
      members with any id in that system;
    - `q` finds by any of these at once: name words, phone, e-mail, ИНН or an external id.
    """
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValidationFailed(
            _("The page size must be between 1 and %(max)d.") % {"max": MAX_PAGE_SIZE},
            details={"field": "limit", "max": MAX_PAGE_SIZE},
        )
    members = members_with_details()
    if status:
        if status not in Member.Status.values:
            raise ValidationFailed(
                _("This value is not one of the choices."),
                details={"field": "status", "known": list(Member.Status.values)},
            )
        members = members.filter(status=status)
    if phone:
        members = members.filter(phone=normalise_phone(phone))
    if email:
        members = members.filter(email=email.strip().lower())
    if inn:
        members = members.filter(inn=inn.strip())
    if external_id or system:
        members = members.filter(pk__in=_holders_of_external_id(system=system, value=external_id))
    if name:
        members = members.filter(_name_matches(name, field="name"))
    if q:
        members = members.filter(_anything_matches(q))
    if cursor is not None:
        members = members.filter(pk__gt=cursor)
    page = list(members.order_by("pk")[: limit + 1])
    if len(page) > limit:
        return MemberPage(items=page[:limit], next_cursor=page[limit - 1].pk)
    return MemberPage(items=page, next_cursor=None)


def _holders_of_external_id(*, system: str | None, value: str | None) -> QuerySet:
    ids = ExternalId.objects.all()
    if system:
        ids = ids.filter(system=system)
    if value:
        ids = ids.filter(value=value.strip())
    return ids.values("member_id")


def _name_matches(text: str, *, field: str) -> Q:
    tokens = words(text)
    if not tokens:
        raise ValidationFailed(
            _("Enter at least one letter or digit to search by."), details={"field": field}
        )
    condition = Q()
    for token in tokens:
        condition &= Q(search_text__startswith=token) | Q(search_text__contains=" " + token)
    return condition


def _anything_matches(q: str) -> Q:
    """Members whose phone, e-mail, ИНН, external id or name words match `q`: a union of index lookups, one per
    reading of the text (a phone's digit groups are not also read as names: short words would match everyone)."""
    text = q.strip()
    phone = _phone_or_none(text)
    found = [_holders_of_external_id(system=None, value=text)]
    if phone:
        found.append(Member.objects.filter(phone=phone).values("pk"))
    if "@" in text:
        found.append(Member.objects.filter(email=text.lower()).values("pk"))
    if text.isdigit() and len(text) in (10, 12):
        found.append(Member.objects.filter(inn=text).values("pk"))
    if not phone and "@" not in text:
        found.append(Member.objects.filter(_name_matches(text, field="q")).values("pk"))
    return Q(pk__in=found[0].union(*found[1:], all=True))


def _phone_or_none(text: str) -> str | None:
    try:
        return normalise_phone(text)
    except ValidationFailed:
        return None
