"""Writes to members (SPEC §1).

Every function runs in one transaction and changes nothing when it refuses. A member's row is locked before
it is changed. Invariants kept here:
- an individual has a last or first name, or a phone or an e-mail; a legal entity has a legal name and an ИНН
  (10 digits, or 12 for a sole proprietor); a КПП goes only with a 10-digit ИНН;
- the ИНН of a legal entity that is not deleted is unique;
- `search_text` always reflects the names, legal name and ИНН;
- a deleted member holds no personal data and does not change any more.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Model
from django.utils.translation import gettext_lazy as _

from kopilka.core import audit, clock, outbox
from kopilka.core.errors import Conflict, ValidationFailed
from kopilka.customers import signals
from kopilka.customers.errors import member_not_found
from kopilka.customers.models import (
    City,
    Consent,
    EligibilityFlag,
    ExternalId,
    Member,
    MemberStatusChange,
    Region,
    Tag,
)
from kopilka.customers.search_text import member_search_text
from kopilka.customers.validators import (
    LEGAL_ENTITY_INN_LENGTH,
    normalise_email,
    normalise_phone,
    validate_inn,
    validate_kpp,
)

# What update_member accepts. `region_code` and `city` (a name) stand for the foreign keys; `tags` and
# `eligibility_flags` are lists of codes that replace the member's current set.
EDITABLE_FIELDS = frozenset(
    {
        "kind",
        "last_name",
        "first_name",
        "middle_name",
        "legal_name",
        "inn",
        "kpp",
        "phone",
        "email",
        "birthday",
        "gender",
        "region_code",
        "city",
        "tags",
        "eligibility_flags",
        "registration_source",
    }
)
_PLAIN_TEXT_FIELDS = ("last_name", "first_name", "middle_name", "legal_name", "registration_source")
_EARLIEST_BIRTHDAY = date(1900, 1, 1)
# A consent dated this far ahead of our clock is refused; less is ordinary clock drift of a till or a phone.
MAX_CLOCK_SKEW = timedelta(minutes=5)


@dataclass
class _Relations:
    """Sets of tags and flags to store after the member row; None leaves the current set alone."""

    tags: list[Tag] | None = None
    eligibility_flags: list[EligibilityFlag] | None = None


# Creating and changing a member


def create_member(
    *,
    kind: str = Member.Kind.INDIVIDUAL,
    last_name: str = "",
    first_name: str = "",
    middle_name: str = "",
    legal_name: str = "",
    inn: str = "",
    kpp: str = "",
    phone: str = "",
    email: str = "",
    birthday: date | None = None,
    gender: str = "",
    region_code: str | None = None,
    city: str | None = None,
    tags: Iterable[str] = (),
    eligibility_flags: Iterable[str] = (),
    registration_source: str = "",
    registered_at: datetime | None = None,
    external_ids: Iterable[tuple[str, str]] = (),
    actor: str,
) -> Member:
    """A new active member; `external_ids` are (system, value) pairs attached in the same transaction, which also
    holds the audit event naming `actor` (who entered the personal data)."""
    fields = {
        "kind": kind,
        "last_name": last_name,
        "first_name": first_name,
        "middle_name": middle_name,
        "legal_name": legal_name,
        "inn": inn,
        "kpp": kpp,
        "phone": phone,
        "email": email,
        "birthday": birthday,
        "gender": gender,
        "region_code": region_code,
        "city": city,
        "tags": list(tags),
        "eligibility_flags": list(eligibility_flags),
        "registration_source": registration_source,
    }
    with transaction.atomic():
        member = Member(registered_at=clock.make_aware(registered_at) if registered_at else clock.now())
        relations = _apply_changes(member, fields)
        _check_member(member)
        _save_member(member)
        _store_relations(member, relations)
        for system, value in external_ids:
            _attach_external_id(member, system, value)
        _audit(member.pk, actor, "member.created", _("Created member %(id)d"))
        _announce(member, "member.created")
    return member


def update_member(*, member_id: int, actor: str, **changes: Any) -> Member:
    """Changes the given fields (see EDITABLE_FIELDS); None or "" clears a field. Status changes elsewhere. The
    audit event names the fields given, never their values (the log outlives an erasure)."""
    with transaction.atomic():
        member = _lock_member(member_id)
        _refuse_if_deleted(member)
        relations = _apply_changes(member, changes)
        _check_member(member)
        _save_member(member)
        _store_relations(member, relations)
        _audit(member_id, actor, "member.changed", _("Changed member %(id)d"), details={"fields": sorted(changes)})
        _announce(member, "member.updated", sorted(changes))
    return member


# Status


def block_member(*, member_id: int, reason: str, actor: str) -> Member:
    """An active member becomes blocked: neither earns nor spends until unblocked."""
    reason = _required_text(reason, "reason", MemberStatusChange)
    with transaction.atomic():
        member = _lock_member(member_id)
        _refuse_if_deleted(member)
        if member.status != Member.Status.ACTIVE:
            raise Conflict(
                _("The member is already blocked."),
                code="member_already_blocked",
                details={"member_id": member.pk},
            )
        member.blocked_reason = reason
        _change_status(member, Member.Status.BLOCKED, reason=reason, actor=actor)
        _audit(member_id, actor, "member.blocked", _("Blocked member %(id)d"))
    return member


def unblock_member(*, member_id: int, actor: str, reason: str = "") -> Member:
    """A blocked member becomes active again."""
    with transaction.atomic():
        member = _lock_member(member_id)
        _refuse_if_deleted(member)
        if member.status != Member.Status.BLOCKED:
            raise Conflict(
                _("The member is not blocked."), code="member_not_blocked", details={"member_id": member.pk}
            )
        member.blocked_reason = ""
        _change_status(member, Member.Status.ACTIVE, reason=reason.strip(), actor=actor)
        _audit(member_id, actor, "member.unblocked", _("Unblocked member %(id)d"))
    return member


def erase_member(*, member_id: int, actor: str) -> Member:
    """The member's personal data is erased on request and the status becomes "deleted" for good.

    Names, contacts, birthday, gender, ИНН/КПП, city, tags, flags, the reasons of its blocks, external ids and
    consents go, and so does what other apps keep of the member (`signals.member_erased`, in the same
    transaction). The row, its id, region, registration source and date stay, so the ledger, which refers to the
    id only, is kept whole and anonymous.
    """
    with transaction.atomic():
        member = _lock_member(member_id)
        _refuse_if_deleted(member)
        for field in ("last_name", "first_name", "middle_name", "legal_name", "inn", "kpp", "phone", "email"):
            setattr(member, field, "")
        member.birthday = None
        member.gender = Member.Gender.UNKNOWN
        member.city = None
        member.blocked_reason = ""
        member.search_text = ""
        member.tags.clear()
        member.eligibility_flags.clear()
        member.external_ids.all().delete()
        member.consents.all().delete()
        member.status_changes.update(reason="")
        _change_status(member, Member.Status.DELETED, reason="", actor=actor)
        signals.member_erased.send(sender=Member, member_id=member_id)
        _audit(member_id, actor, "member.erased", _("Erased the personal data of member %(id)d"))
    return member


# Consents and external ids


def set_consent(
    *, member_id: int, channel: str, granted: bool, source: str, actor: str, at: datetime | None = None
) -> Consent:
    """Records a decision about one channel; the newest decision per channel is in force.

    Withdrawals are accepted from blocked members too: nothing may stop a person from saying no.
    """
    if channel not in Consent.Channel.values:
        raise ValidationFailed(
            _("Unknown consent channel."),
            details={"field": "channel", "known": list(Consent.Channel.values)},
        )
    source = _required_text(source, "source", Consent)
    now = clock.now()
    decided_at = clock.make_aware(at) if at else now
    if decided_at > now + MAX_CLOCK_SKEW:
        raise ValidationFailed(_("A consent cannot be dated in the future."), details={"field": "decided_at"})
    with transaction.atomic():
        member = _lock_member(member_id)
        _refuse_if_deleted(member)
        consent = Consent.objects.create(
            member=member, channel=channel, granted=bool(granted), decided_at=decided_at, source=source
        )
        _audit(member_id, actor, "member.consent", _("Consent of member %(id)d to %(channel)s: %(decision)s"),
               channel=channel, decision=_("given") if granted else _("withdrawn"))
        return consent


def add_external_id(*, member_id: int, system: str, value: str, actor: str) -> tuple[ExternalId, bool]:
    """Attaches the member's id in another system; returns the row and whether it is new.

    Attaching a pair the member already has changes nothing; a pair held by another member is a conflict.
    """
    with transaction.atomic():
        member = _lock_member(member_id)
        _refuse_if_deleted(member)
        row, created = _attach_external_id(member, system, value)
        if created:
            _audit(member_id, actor, "member.external_id_added", _("Attached an id in %(system)s to member %(id)d"),
                   system=system)
        return row, created


# Internals


def _audit(member_id: int, actor: str, action: str, summary: str, *, details: dict | None = None,
           **words: str) -> None:
    """The audit event of a change of the member, inside its transaction; `summary` takes the member's id and
    `words`. No personal data goes into it."""
    audit.record(None, action, summary % {"id": member_id, **words}, actor=actor, member_id=member_id,
                 target=f"customers.member:{member_id}", details=details)


def _announce(member: Member, event: str, fields: list[str] | None = None) -> None:
    """The outbox event of a change of the member, inside its transaction: ids, kind, status and the names of the
    fields that changed, never their values (a receiver reads the member through the API; events outlive an
    erasure)."""
    payload = {"member_id": member.pk, "kind": member.kind, "status": member.status}
    if fields is not None:
        payload["fields"] = fields
    outbox.record(event, f"member:{member.pk}", payload)


def _lock_member(member_id: int) -> Member:
    try:
        return Member.objects.select_for_update(no_key=True).get(pk=member_id)
    except Member.DoesNotExist:
        raise member_not_found(member_id) from None


def _refuse_if_deleted(member: Member) -> None:
    if member.status == Member.Status.DELETED:
        raise Conflict(
            _("The member was deleted and cannot be changed."),
            code="member_deleted",
            details={"member_id": member.pk},
        )


def _change_status(member: Member, status: str, *, reason: str, actor: str) -> None:
    if not actor:
        raise ValueError("every status change names its actor")
    previous = member.status
    member.status = status
    member.save()
    MemberStatusChange.objects.create(
        member=member,
        from_status=previous,
        to_status=status,
        reason=reason,
        actor=actor,
        changed_at=clock.now(),
    )
    _announce(member, "member.updated", ["status"])


def _apply_changes(member: Member, changes: Mapping[str, Any]) -> _Relations:
    """Normalises and sets every change on the unsaved object; a new city name adds the city (undone with
    the transaction if the member is refused later)."""
    unknown = sorted(set(changes) - EDITABLE_FIELDS)
    if unknown:
        raise ValidationFailed(
            _("These fields cannot be changed here."), details={"field": unknown[0], "fields": unknown}
        )
    relations = _Relations()
    for field in _PLAIN_TEXT_FIELDS:
        if field in changes:
            setattr(member, field, _optional_text(changes[field], field, Member))
    if "kind" in changes:
        member.kind = _choice(changes["kind"], "kind", Member.Kind)
    if "gender" in changes:
        member.gender = _choice(changes["gender"] or "", "gender", Member.Gender)
    if "inn" in changes:
        member.inn = validate_inn(changes["inn"]) if _given(changes["inn"]) else ""
    if "kpp" in changes:
        member.kpp = validate_kpp(changes["kpp"]) if _given(changes["kpp"]) else ""
    if "phone" in changes:
        member.phone = normalise_phone(changes["phone"]) if _given(changes["phone"]) else ""
    if "email" in changes:
        member.email = normalise_email(changes["email"]) if _given(changes["email"]) else ""
        _check_length(member.email, "email", Member)
    if "birthday" in changes:
        member.birthday = _birthday(changes["birthday"])
    if "region_code" in changes:
        region = _region(changes["region_code"])
        if member.region_id != (region.pk if region else None):
            member.city = None
        member.region = region
    if "city" in changes:
        member.city = _city(member.region, changes["city"])
    if "tags" in changes:
        relations.tags = _by_codes(Tag, changes["tags"] or [], "tags")
    if "eligibility_flags" in changes:
        relations.eligibility_flags = _by_codes(
            EligibilityFlag, changes["eligibility_flags"] or [], "eligibility_flags"
        )
    return relations


def _check_member(member: Member) -> None:
    """The rules that involve more than one field, checked on the state about to be saved."""
    if member.kind == Member.Kind.INDIVIDUAL:
        if not (member.last_name or member.first_name or member.phone or member.email):
            raise ValidationFailed(
                _("An individual needs a last or first name, a phone or an e-mail."),
                details={"field": "last_name", "any_of": ["last_name", "first_name", "phone", "email"]},
            )
        if member.legal_name:
            raise ValidationFailed(
                _("Only a legal entity has a legal name."), details={"field": "legal_name"}
            )
        if member.inn and len(member.inn) == LEGAL_ENTITY_INN_LENGTH:
            raise ValidationFailed(
                _("A 10-digit INN belongs to an organisation; an individual's INN has 12 digits."),
                details={"field": "inn"},
            )
        if member.kpp:
            raise ValidationFailed(_("Only an organisation has a KPP."), details={"field": "kpp"})
        return
    if not member.legal_name:
        raise ValidationFailed(_("A legal entity needs its legal name."), details={"field": "legal_name"})
    if not member.inn:
        raise ValidationFailed(_("A legal entity needs its INN."), details={"field": "inn"})
    if member.kpp and len(member.inn) != LEGAL_ENTITY_INN_LENGTH:
        raise ValidationFailed(_("A sole proprietor (12-digit INN) has no KPP."), details={"field": "kpp"})


def _save_member(member: Member) -> None:
    """Saves with a fresh search text; an ИНН held by another live legal entity is a conflict."""
    member.search_text = member_search_text(member)
    if _inn_taken(member):
        raise _inn_conflict(member)
    try:
        with transaction.atomic():
            member.save()
    except IntegrityError:
        # Another transaction took the ИНН between the check and the write.
        if _inn_taken(member):
            raise _inn_conflict(member) from None
        raise


def _inn_taken(member: Member) -> bool:
    if member.kind != Member.Kind.LEGAL_ENTITY or not member.inn:
        return False
    others = Member.objects.filter(kind=Member.Kind.LEGAL_ENTITY, inn=member.inn).exclude(
        status=Member.Status.DELETED
    )
    if member.pk:
        others = others.exclude(pk=member.pk)
    return others.exists()


def _inn_conflict(member: Member) -> Conflict:
    return Conflict(
        _("A legal entity with this INN is already a member."),
        code="inn_taken",
        details={"field": "inn", "inn": member.inn},
    )


def _store_relations(member: Member, relations: _Relations) -> None:
    if relations.tags is not None:
        member.tags.set(relations.tags)
    if relations.eligibility_flags is not None:
        member.eligibility_flags.set(relations.eligibility_flags)


def _attach_external_id(member: Member, system: str, value: str) -> tuple[ExternalId, bool]:
    if system not in ExternalId.System.values:
        raise ValidationFailed(
            _("Unknown external system."),
            details={"field": "system", "known": list(ExternalId.System.values)},
        )
    value = _required_text(value, "value", ExternalId)
    existing = ExternalId.objects.filter(system=system, value=value).first()
    if existing is None:
        try:
            with transaction.atomic():
                return ExternalId.objects.create(member=member, system=system, value=value), True
        except IntegrityError:
            existing = ExternalId.objects.get(system=system, value=value)
    if existing.member_id == member.pk:
        return existing, False
    raise Conflict(
        _("This external id belongs to another member."),
        code="external_id_taken",
        details={"field": "value", "system": system, "value": value},
    )


def _region(code: str | None) -> Region | None:
    if not _given(code):
        return None
    code = str(code).strip()
    if code.isdigit() and len(code) == 1:
        code = code.zfill(2)
    region = Region.objects.filter(code=code).first()
    if region is None:
        raise ValidationFailed(
            _("Unknown region code."), details={"field": "region_code", "region_code": code}
        )
    return region


def _city(region: Region | None, name: str | None) -> City | None:
    """The region's city of that name (letter case ignored), created when the region has none yet."""
    if not _given(name):
        return None
    name = " ".join(str(name).split())
    _check_length(name, "city", City, model_field="name")
    if region is None:
        raise ValidationFailed(
            _("A city can only be given together with a region."), details={"field": "city"}
        )
    wanted = name.casefold()
    for city_id, city_name in City.objects.filter(region=region).values_list("id", "name"):
        if city_name.casefold() == wanted:
            return City.objects.get(pk=city_id)
    return City.objects.get_or_create(region=region, name=name)[0]


def _by_codes(model: type[Tag] | type[EligibilityFlag], codes: Iterable[str], field: str) -> list[Model]:
    """The reference-book rows with these codes; an unknown code refuses the list, naming the known ones."""
    wanted = {str(code).strip() for code in codes}
    found = list(model.objects.filter(code__in=wanted))
    unknown = sorted(wanted - {row.code for row in found})
    if unknown:
        known = list(model.objects.order_by("code").values_list("code", flat=True))
        raise ValidationFailed(
            _("Unknown codes: %(unknown)s. Known codes: %(known)s.")
            % {"unknown": ", ".join(unknown), "known": ", ".join(known) or "—"},
            details={"field": field, "unknown": unknown, "known": known},
        )
    return found


def _birthday(value: Any) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime) or not isinstance(value, date):
        raise ValidationFailed(_("A birthday is a calendar date."), details={"field": "birthday"})
    if not _EARLIEST_BIRTHDAY <= value <= clock.local_date(clock.now()):
        raise ValidationFailed(
            _("A birthday must lie between 1900 and today."), details={"field": "birthday"}
        )
    return value


def _choice(value: Any, field: str, choices: type) -> str:
    if value not in choices.values:
        raise ValidationFailed(
            _("This value is not one of the choices."),
            details={"field": field, "known": list(choices.values)},
        )
    return value


def _given(value: Any) -> bool:
    return value is not None and str(value).strip() != ""


def _optional_text(value: Any, field: str, model: type[Model]) -> str:
    text = "" if value is None else str(value).strip()
    _check_length(text, field, model)
    return text


def _required_text(value: Any, field: str, model: type[Model]) -> str:
    text = _optional_text(value, field, model)
    if not text:
        raise ValidationFailed(_("This field is required."), details={"field": field})
    return text


def _check_length(text: str, field: str, model: type[Model], *, model_field: str | None = None) -> None:
    limit = model._meta.get_field(model_field or field).max_length
    if len(text) > limit:
        raise ValidationFailed(
            _("This value is longer than %(limit)d characters.") % {"limit": limit},
            details={"field": field, "max_length": limit},
        )
