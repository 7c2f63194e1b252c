"""Members over HTTP (SPEC §1): create, read, change, search, block, erase, consents, external ids, regions.

Thin: every endpoint checks the caller's scope, then calls one service or selector. Every write takes an
`Idempotency-Key` header; a replay returns the first answer.
"""

from datetime import date, datetime
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.responses import codes_4xx

from kopilka.api.auth import principal_of, scoped
from kopilka.api.common import SOME_TEXT, ErrorOut, IdempotencyKey, length_of
from kopilka.api.idempotency import forget_member_answers, idempotent_write
from kopilka.core import audit
from kopilka.customers import selectors, services
from kopilka.customers.models import City, Consent, EligibilityFlag, ExternalId, Member, MemberStatusChange, Region, Tag

router = Router(tags=["members"])

READ = "members:read"
WRITE = "members:write"

Kind = Literal["individual", "legal_entity"]
Gender = Literal["", "female", "male"]
MemberStatus = Literal["active", "blocked", "deleted"]
Channel = Literal["email", "sms", "push", "messenger"]
ExternalSystem = Literal["onec", "site", "card", "customer"]
TagCode = Annotated[str, Field(max_length=length_of(Tag, "code"))]
FlagCode = Annotated[str, Field(max_length=length_of(EligibilityFlag, "code"))]
# A phone as people write it ("8 (912) 345-67-89"), which `customers` stores as +7XXXXXXXXXX.
PHONE_AS_WRITTEN = 30
INN, EMAIL = length_of(Member, "inn"), length_of(Member, "email")
REGION, CITY = length_of(Region, "code"), length_of(City, "name")
EXTERNAL_ID = length_of(ExternalId, "value")
# A search matches within the text kept for it, so a longer one finds nothing.
SEARCH = length_of(Member, "search_text")
REASON = length_of(MemberStatusChange, "reason")


# Schemas


def _member_text(default: str | None, field: str) -> Any:
    """A field of text stored in the member's column `field`: at most as long."""
    return Field(default, max_length=length_of(Member, field))


class RegionOut(Schema):
    code: str
    name: str
    federal_district: str
    time_zone: str


class RegionRef(Schema):
    code: str
    name: str


class ExternalIdIn(Schema):
    system: ExternalSystem
    value: str = Field(max_length=EXTERNAL_ID)


class ExternalIdOut(Schema):
    system: str
    value: str


class ConsentIn(Schema):
    channel: Channel
    granted: bool
    source: str = Field(pattern=SOME_TEXT, max_length=length_of(Consent, "source"),
                        description="Where the decision was taken: a form, a till, a call.")
    decided_at: datetime | None = Field(None, description="When the member decided; now if not given.")


class ConsentOut(Schema):
    channel: str
    granted: bool
    decided_at: datetime
    source: str


class MemberIn(Schema):
    kind: Kind = "individual"
    last_name: str = _member_text("", "last_name")
    first_name: str = _member_text("", "first_name")
    middle_name: str = _member_text("", "middle_name")
    legal_name: str = _member_text("", "legal_name")
    inn: str = _member_text("", "inn")
    kpp: str = _member_text("", "kpp")
    phone: str = Field("", max_length=PHONE_AS_WRITTEN,
                       description="Any common form of a Russian number; stored as +7XXXXXXXXXX.")
    email: str = _member_text("", "email")
    birthday: date | None = None
    gender: Gender = ""
    region_code: str | None = Field(
        None, max_length=REGION, description="Two-digit code of the subject of the Russian Federation."
    )
    city: str | None = Field(None, max_length=CITY,
                             description="City name within the region; a new name is added.")
    tags: list[TagCode] = Field(default_factory=list, description="Tag codes.")
    eligibility_flags: list[FlagCode] = Field(default_factory=list, description="Eligibility flag codes.")
    registration_source: str = _member_text("", "registration_source")
    registered_at: datetime | None = None
    external_ids: list[ExternalIdIn] = Field(default_factory=list)


class MemberPatch(Schema):
    """Only the fields sent change; null or "" clears one; `tags` and `eligibility_flags` replace the set."""

    kind: Kind | None = None
    last_name: str | None = _member_text(None, "last_name")
    first_name: str | None = _member_text(None, "first_name")
    middle_name: str | None = _member_text(None, "middle_name")
    legal_name: str | None = _member_text(None, "legal_name")
    inn: str | None = _member_text(None, "inn")
    kpp: str | None = _member_text(None, "kpp")
    phone: str | None = Field(None, max_length=PHONE_AS_WRITTEN)
    email: str | None = _member_text(None, "email")
    birthday: date | None = None
    gender: Gender | None = None
    region_code: str | None = Field(None, max_length=REGION)
    city: str | None = Field(None, max_length=CITY)
    tags: list[TagCode] | None = None
    eligibility_flags: list[FlagCode] | None = None
    registration_source: str | None = _member_text(None, "registration_source")


class MemberOut(Schema):
    id: int
    kind: str
    status: str
    display_name: str
    last_name: str
    first_name: str
    middle_name: str
    legal_name: str
    inn: str
    kpp: str
    phone: str
    email: str
    birthday: date | None
    gender: str
    region: RegionRef | None
    city: str | None
    tags: list[str]
    eligibility_flags: list[str]
    consents: dict[str, ConsentOut] = Field(description="The decision in force per channel.")
    external_ids: list[ExternalIdOut]
    registration_source: str
    registered_at: datetime
    blocked_reason: str
    created_at: datetime
    updated_at: datetime


class MemberPageOut(Schema):
    items: list[MemberOut]
    next_cursor: int | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class MemberSearch(Schema):
    q: str | None = Field(None, max_length=SEARCH, description="Name words, phone, e-mail, INN or an external id.")
    phone: str | None = Field(None, max_length=PHONE_AS_WRITTEN)
    email: str | None = Field(None, max_length=EMAIL)
    inn: str | None = Field(None, max_length=INN)
    external_id: str | None = Field(None, max_length=EXTERNAL_ID)
    system: ExternalSystem | None = None
    name: str | None = Field(None, max_length=SEARCH, description="Every word must begin a word of the name.")
    status: MemberStatus | None = None
    limit: int = Field(selectors.DEFAULT_PAGE_SIZE, ge=1, le=selectors.MAX_PAGE_SIZE)
    cursor: int | None = Field(None, description="The `next_cursor` of the previous page.")


class BlockIn(Schema):
    reason: str = Field(pattern=SOME_TEXT, max_length=REASON)


class UnblockIn(Schema):
    reason: str = Field("", max_length=REASON)




# Reading


@router.get("/regions", auth=scoped(READ), response={200: list[RegionOut], codes_4xx: ErrorOut})
def list_regions(request: HttpRequest):
    return list(selectors.list_regions())


@router.get("/", auth=scoped(READ), response={200: MemberPageOut, codes_4xx: ErrorOut})
def search_members(request: HttpRequest, filters: Query[MemberSearch]):
    page = selectors.search_members(**filters.model_dump())
    _staff_read(request, [member.pk for member in page.items])
    return {"items": _describe_all(page.items), "next_cursor": page.next_cursor}


@router.get("/{int:member_id}", auth=scoped(READ), response={200: MemberOut, codes_4xx: ErrorOut})
def get_member(request: HttpRequest, member_id: int):
    described = _describe(member_id)
    _staff_read(request, [member_id])
    return described


def _staff_read(request: HttpRequest, member_ids: list[int]) -> None:
    """A person (a staff session, not a system's API key) reading members' personal data is in the audit log."""
    user = principal_of(request).user
    if user is not None:
        audit.record_shown(user, "member.read", _("Read %(count)d members through the API") % {
            "count": len(member_ids)}, member_ids=member_ids, target="api:members")


# Writing


@router.post("/", auth=scoped(WRITE), response={201: MemberOut, codes_4xx: ErrorOut})
def create_member(request: HttpRequest, body: MemberIn, idempotency_key: str | None = IdempotencyKey):
    def work(principal):
        fields = body.model_dump(exclude={"external_ids"})
        external_ids = [(e.system, e.value) for e in body.external_ids]
        member = services.create_member(**fields, external_ids=external_ids, actor=principal.actor)
        return 201, _describe(member.pk)

    payload = body.model_dump(mode="json")
    return idempotent_write(request, idempotency_key, "members.create", payload, work)


@router.patch("/{int:member_id}", auth=scoped(WRITE), response={200: MemberOut, codes_4xx: ErrorOut})
def update_member(
    request: HttpRequest, member_id: int, body: MemberPatch, idempotency_key: str | None = IdempotencyKey
):
    changes = body.model_dump(exclude_unset=True)

    def work(principal):
        services.update_member(member_id=member_id, actor=principal.actor, **changes)
        return 200, _describe(member_id)

    payload = {"member_id": member_id, "changes": body.model_dump(mode="json", exclude_unset=True)}
    return idempotent_write(request, idempotency_key, "members.update", payload, work)


@router.post("/{int:member_id}/block", auth=scoped(WRITE), response={200: MemberOut, codes_4xx: ErrorOut})
def block_member(
    request: HttpRequest, member_id: int, body: BlockIn, idempotency_key: str | None = IdempotencyKey
):
    def work(principal):
        services.block_member(member_id=member_id, reason=body.reason, actor=principal.actor)
        return 200, _describe(member_id)

    payload = {"member_id": member_id, "reason": body.reason}
    return idempotent_write(request, idempotency_key, "members.block", payload, work)


@router.post("/{int:member_id}/unblock", auth=scoped(WRITE), response={200: MemberOut, codes_4xx: ErrorOut})
def unblock_member(
    request: HttpRequest, member_id: int, body: UnblockIn, idempotency_key: str | None = IdempotencyKey
):
    def work(principal):
        services.unblock_member(member_id=member_id, reason=body.reason, actor=principal.actor)
        return 200, _describe(member_id)

    payload = {"member_id": member_id, "reason": body.reason}
    return idempotent_write(request, idempotency_key, "members.unblock", payload, work)


@router.post("/{int:member_id}/erase", auth=scoped(WRITE), response={200: MemberOut, codes_4xx: ErrorOut})
def erase_member(request: HttpRequest, member_id: int, idempotency_key: str | None = IdempotencyKey):
    """Erases the member's personal data for good; the ledger stays, anonymous."""
    def work(principal):
        external_ids = list(ExternalId.objects.filter(member_id=member_id).values_list("system", "value"))
        services.erase_member(member_id=member_id, actor=principal.actor)
        erased = _describe(member_id)
        forget_member_answers(member_id, erased, external_ids)
        return 200, erased

    return idempotent_write(request, idempotency_key, "members.erase", {"member_id": member_id}, work)


@router.post("/{int:member_id}/consents", auth=scoped(WRITE), response={201: ConsentOut, codes_4xx: ErrorOut})
def set_consent(
    request: HttpRequest, member_id: int, body: ConsentIn, idempotency_key: str | None = IdempotencyKey
):
    def work(principal):
        consent = services.set_consent(
            member_id=member_id,
            channel=body.channel,
            granted=body.granted,
            source=body.source,
            at=body.decided_at,
            actor=principal.actor,
        )
        return 201, _consent_out(consent)

    payload = {"member_id": member_id, "consent": body.model_dump(mode="json")}
    return idempotent_write(request, idempotency_key, "members.consent", payload, work)


@router.post(
    "/{int:member_id}/external-ids", auth=scoped(WRITE),
    response={200: ExternalIdOut, 201: ExternalIdOut, codes_4xx: ErrorOut},
)
def add_external_id(
    request: HttpRequest, member_id: int, body: ExternalIdIn, idempotency_key: str | None = IdempotencyKey
):
    """201 when the id is attached, 200 when the member already had it."""
    def work(principal):
        row, created = services.add_external_id(member_id=member_id, system=body.system, value=body.value,
                                                actor=principal.actor)
        return (201 if created else 200), ExternalIdOut(system=row.system, value=row.value)

    payload = {"member_id": member_id, "external_id": body.model_dump(mode="json")}
    return idempotent_write(request, idempotency_key, "members.external_id", payload, work)


# Helpers


def _describe(member_id: int) -> MemberOut:
    return _describe_all([selectors.get_member(member_id)])[0]


def _describe_all(members: list[Member]) -> list[MemberOut]:
    consents = selectors.consents_in_force(m.pk for m in members)
    return [_member_out(m, consents.get(m.pk, {})) for m in members]


def _member_out(member: Member, consents: dict[str, Consent]) -> MemberOut:
    return MemberOut(
        id=member.pk,
        kind=member.kind,
        status=member.status,
        display_name=member.display_name,
        last_name=member.last_name,
        first_name=member.first_name,
        middle_name=member.middle_name,
        legal_name=member.legal_name,
        inn=member.inn,
        kpp=member.kpp,
        phone=member.phone,
        email=member.email,
        birthday=member.birthday,
        gender=member.gender,
        region=RegionRef(code=member.region.code, name=member.region.name) if member.region else None,
        city=member.city.name if member.city else None,
        tags=sorted(tag.code for tag in member.tags.all()),
        eligibility_flags=sorted(flag.code for flag in member.eligibility_flags.all()),
        consents={channel: _consent_out(consent) for channel, consent in sorted(consents.items())},
        external_ids=[
            ExternalIdOut(system=e.system, value=e.value)
            for e in sorted(member.external_ids.all(), key=lambda e: (e.system, e.value))
        ],
        registration_source=member.registration_source,
        registered_at=member.registered_at,
        blocked_reason=member.blocked_reason,
        created_at=member.created_at,
        updated_at=member.updated_at,
    )


def _consent_out(consent: Consent) -> ConsentOut:
    return ConsentOut(
        channel=consent.channel, granted=consent.granted, decided_at=consent.decided_at, source=consent.source
    )
