"""Ledger API: balance, history, accrue, spend, hold / capture / release, reverse, return, adjust, UR (also
cut by campaign, point category, region or member kind).

Writes need the `ledger:write` scope and an `Idempotency-Key` header; reads need `ledger:read`.
"""

from datetime import datetime
from typing import Annotated, Literal

from ninja import Field, Query, Router, Schema

from kopilka.api.auth import scoped
from kopilka.api.common import ERRORS, LONG_TEXT, IdempotencyKey, length_of
from kopilka.api.idempotency import idempotent_write, ledger_key
from kopilka.campaigns.models import Campaign
from kopilka.core.models import ProgrammeSettings
from kopilka.ledger import selectors, services, sources
from kopilka.ledger.errors import EntryNotFound, HoldNotFound
from kopilka.ledger.models import Entry, Hold, LotCategory, ReasonCode

router = Router(tags=["ledger"])
CATEGORY, REASON = length_of(LotCategory, "code"), length_of(ReasonCode, "code")
REDEMPTION_ORDER = length_of(ProgrammeSettings, "redemption_order")

# --- schemas ------------------------------------------------------------------------------------------------------


class LotOut(Schema):
    id: int
    category: str
    source_kind: str
    source_ref: str
    amount: int
    remaining: int
    held: int
    accrued_at: datetime
    activates_at: datetime
    expires_at: datetime | None
    last_day: str | None = Field(None, description="Last day (programme time zone) the points can be spent")
    state: str = Field(description="active, pending, expired (burns at the next expiry run) or debt")


class ExpirationOut(Schema):
    date: str
    points: int


class BalanceOut(Schema):
    member_id: int
    total: int = Field(description="Σ entries = Σ lot remainders")
    available: int = Field(description="spendable now: active, unexpired, not on hold")
    pending: int = Field(description="accrued but not yet spendable")
    held: int = Field(description="reserved by unfinished purchases")
    debt: int = Field(description="points owed after a reversal under the 'negative' return policy")
    redemption_order: str
    redemption_order_text: str
    upcoming_expirations: list[ExpirationOut]
    lots: list[LotOut]


class MoveOut(Schema):
    lot_id: int
    points: int


class EntryOut(Schema):
    id: int
    member_id: int
    kind: str
    points: int
    balance_after: int
    source_kind: str
    source_ref: str
    reason_code: str
    comment: str
    actor: str
    effective_at: datetime
    created_at: datetime
    hold_id: int | None
    reverses_id: int | None
    lots: list[MoveOut]
    details: dict


class HistoryOut(Schema):
    items: list[EntryOut]
    next_cursor: int | None


class HoldOut(Schema):
    id: int
    member_id: int
    points: int
    status: str
    source_kind: str
    source_ref: str
    created_at: datetime
    expires_at: datetime
    closed_at: datetime | None
    lots: list[MoveOut]


Basis = Literal["flow", "cohort"]
Segment = Literal["campaign", "category", "region", "member_kind"]


class SegmentOut(Schema):
    segment: str | None = Field(description=(
        "the campaign's, category's or region's code, or the member kind; null for points outside every "
        "segment (not from a campaign, or of members without a region)"))
    name: str
    accrued: int
    spent: int
    burned: int
    utilization_rate: str | None = Field(description="spent / accrued, as a decimal fraction string")
    limiting_utilization_rate: str | None = Field(description="1 − burned / accrued")


class UtilizationOut(Schema):
    since: datetime
    until: datetime
    basis: Basis
    accrued: int
    spent: int
    burned: int
    utilization_rate: str | None = Field(description="spent / accrued, as a decimal fraction string")
    limiting_utilization_rate: str | None = Field(description="1 − burned / accrued")
    by: Segment | None = Field(None, description="the cut asked for; the figures above are the segments' sum")
    segments: list[SegmentOut] = Field(default_factory=list, description="one row per segment, by code")


class AccrueIn(Schema):
    points: int = Field(gt=0)
    category: str = Field("base", max_length=CATEGORY)
    # Checked by `sources.check_integration_source` (answers in the caller's language); the schema says so.
    source_kind: str = Field("manual", description=(
        "Where the points come from, in your words. The platform's own kinds ("
        + ", ".join(sources.PLATFORM_KINDS) + ") are refused: a campaign's points come from its campaign."
    ), json_schema_extra={
        "minLength": 1, "maxLength": sources.KIND_MAX_LENGTH, "pattern": sources.KIND_PATTERN,
        "not": {"enum": list(sources.PLATFORM_KINDS)},
    })
    source_ref: str = Field("", description="Your reference of the source, e.g. a document number.",
                            json_schema_extra={"maxLength": sources.REF_MAX_LENGTH,
                                               "pattern": sources.REF_PATTERN})
    expires_at: datetime | None = None
    lifetime_days: int | None = Field(None, gt=0)
    pending_until: datetime | None = None
    reason_code: str = Field("", max_length=REASON)
    comment: str = Field("", max_length=LONG_TEXT)


class SpendIn(Schema):
    points: int = Field(gt=0)
    source_kind: str = Field("manual", max_length=sources.KIND_MAX_LENGTH)
    source_ref: str = Field("", max_length=sources.REF_MAX_LENGTH)
    reason_code: str = Field("", max_length=REASON)
    comment: str = Field("", max_length=LONG_TEXT)
    redemption_order: str | None = Field(None, max_length=REDEMPTION_ORDER)


class HoldIn(Schema):
    points: int = Field(gt=0)
    source_kind: str = Field("order", max_length=sources.KIND_MAX_LENGTH)
    source_ref: str = Field("", max_length=sources.REF_MAX_LENGTH)
    ttl_seconds: int | None = Field(None, gt=0)
    redemption_order: str | None = Field(None, max_length=REDEMPTION_ORDER)


class CaptureIn(Schema):
    points: int | None = Field(None, gt=0, description="default: everything held")
    comment: str = Field("", max_length=LONG_TEXT)


class ReverseIn(Schema):
    points: int | None = Field(None, gt=0, description="default: all that is left of the accrual")
    reason_code: str = Field("", max_length=REASON)
    comment: str = Field("", max_length=LONG_TEXT)
    policy: str | None = Field(None, max_length=length_of(ProgrammeSettings, "return_policy"),
                               description="negative, take_available or block; default: programme setting")


class RestoreIn(Schema):
    points: int | None = Field(None, gt=0, description="default: all that is left of the spending")
    reason_code: str = Field("return", max_length=REASON)
    comment: str = Field("", max_length=LONG_TEXT)


class AdjustIn(Schema):
    points: int = Field(description="positive adds a lot, negative draws like a spending")
    reason_code: str = Field(max_length=REASON)
    comment: str = Field("", max_length=LONG_TEXT)
    category: str = Field("compensation", max_length=CATEGORY)
    expires_at: datetime | None = None
    lifetime_days: int | None = Field(None, gt=0)


# --- rendering ----------------------------------------------------------------------------------------------------


def _entry_out(entry: Entry) -> dict:
    return {
        "id": entry.pk,
        "member_id": entry.account.member_id,
        "kind": entry.kind,
        "points": entry.amount,
        "balance_after": entry.balance_after,
        "source_kind": entry.source_kind,
        "source_ref": entry.source_ref,
        "reason_code": entry.reason_code,
        "comment": entry.comment,
        "actor": entry.actor,
        "effective_at": entry.effective_at,
        "created_at": entry.created_at,
        "hold_id": entry.hold_id,
        "reverses_id": entry.reverses_id,
        "lots": [{"lot_id": lot_id, "points": n} for lot_id, n in selectors.entry_lots(entry)],
        "details": entry.details or {},
    }


def _hold_out(hold: Hold) -> dict:
    return {
        "id": hold.pk,
        "member_id": hold.account.member_id,
        "points": hold.amount,
        "status": hold.status,
        "source_kind": hold.source_kind,
        "source_ref": hold.source_ref,
        "created_at": hold.created_at,
        "expires_at": hold.expires_at,
        "closed_at": hold.closed_at,
        "lots": [{"lot_id": line.lot_id, "points": line.amount} for line in hold.lines.order_by("id")],
    }


def _entry_response(entry: Entry) -> tuple[int, dict]:
    return 201, EntryOut(**_entry_out(entry))


# --- reads --------------------------------------------------------------------------------------------------------


@router.get("/members/{member_id}/balance", auth=scoped("ledger:read"), response={200: BalanceOut, **ERRORS})
def get_balance(request, member_id: int):
    b = selectors.balance(member_id)
    return {
        "member_id": b.member_id,
        "total": b.total,
        "available": b.available,
        "pending": b.pending,
        "held": b.held,
        "debt": b.debt,
        "redemption_order": b.redemption_order,
        "redemption_order_text": b.redemption_order_text,
        "upcoming_expirations": [{"date": d.isoformat(), "points": n} for d, n in b.upcoming_expirations],
        "lots": [
            {**lot.__dict__, "last_day": lot.last_day.isoformat() if lot.last_day else None} for lot in b.lots
        ],
    }


class HistoryFilters(Schema):
    kind: list[Annotated[str, Field(max_length=length_of(Entry, "kind"))]] | None = Field(
        None, description="entry kinds, repeatable")
    since: datetime | None = None
    until: datetime | None = None
    cursor: int | None = Field(None, description="next_cursor of the previous page")
    limit: int = 50


@router.get("/members/{member_id}/history", auth=scoped("ledger:read"), response={200: HistoryOut, **ERRORS})
def get_history(request, member_id: int, filters: Query[HistoryFilters]):
    page = selectors.history(
        member_id, kinds=filters.kind, since=filters.since, until=filters.until, cursor=filters.cursor,
        limit=filters.limit,
    )
    return {"items": [_entry_out(e) for e in page.entries], "next_cursor": page.next_cursor}


@router.get("/entries/{entry_id}", auth=scoped("ledger:read"), response={200: EntryOut, **ERRORS})
def get_entry(request, entry_id: int):
    entry = Entry.objects.select_related("account").filter(pk=entry_id).first()
    if entry is None:
        raise EntryNotFound(details={"entry_id": entry_id})
    return _entry_out(entry)


@router.get("/holds/{hold_id}", auth=scoped("ledger:read"), response={200: HoldOut, **ERRORS})
def get_hold(request, hold_id: int):
    hold = Hold.objects.select_related("account").filter(pk=hold_id).first()
    if hold is None:
        raise HoldNotFound(details={"hold_id": hold_id})
    return _hold_out(hold)


class UtilizationQuery(Schema):
    since: datetime
    until: datetime = Field(description="exclusive")
    basis: Basis = Field("flow", description=(
        "flow: what was accrued, spent and burned during the period; cohort: of the points accrued during "
        "the period, how many were spent and burned by now"))
    by: Segment | None = Field(None, description=(
        "cut by the campaign that granted the points (every version together), the point category, the "
        "member's region or the member's kind; a spending counts where the lots it drew from belong"))


def _rate(value) -> str | None:
    return None if value is None else f"{float(value):.4f}"


def _figures(ur) -> dict:
    return {"accrued": ur.accrued, "spent": ur.spent, "burned": ur.burned, "utilization_rate": _rate(ur.rate),
            "limiting_utilization_rate": _rate(ur.limiting_rate)}


@router.get("/utilization", auth=scoped("ledger:read"), response={200: UtilizationOut, **ERRORS})
def get_utilization(request, query: Query[UtilizationQuery]):
    """UR = spent / accrued and the limiting UR = 1 − burned / accrued of a period, by segment if asked."""
    if query.by is None:
        ur = selectors.utilization(query.since, query.until, query.basis)
        return {"since": ur.since, "until": ur.until, "basis": ur.basis, **_figures(ur),
                "by": None, "segments": []}
    cut = selectors.utilization_by(query.since, query.until, query.by, query.basis)
    names = {}
    if query.by == "campaign":
        codes = [s.segment for s in cut.segments if s.segment is not None]
        names = dict(Campaign.objects.filter(code__in=codes).values_list("code", "name"))
    segments = [{"segment": s.segment, "name": names.get(s.segment, s.name), **_figures(s)}
                for s in cut.segments]
    total = cut.total
    return {"since": total.since, "until": total.until, "basis": total.basis, **_figures(total),
            "by": cut.by, "segments": segments}


# --- writes -------------------------------------------------------------------------------------------------------


def _write(request, key: str | None, endpoint: str, payload, work):
    """`idempotent_write` for the ledger: `work(principal, key)` gets the key the ledger books under."""
    return idempotent_write(request, key, endpoint, payload,
                            lambda principal: work(principal, ledger_key(principal, key)))


@router.post("/members/{member_id}/accruals", auth=scoped("ledger:write"), response={201: EntryOut, **ERRORS})
def post_accrual(request, member_id: int, body: AccrueIn, idempotency_key: str | None = IdempotencyKey):
    def work(principal, key):
        sources.check_integration_source(body.source_kind, body.source_ref)
        return _entry_response(
            services.accrue(
                member_id=member_id, points=body.points, category=body.category,
                source=services.Source(body.source_kind, body.source_ref), expires_at=body.expires_at,
                lifetime_days=body.lifetime_days, pending_until=body.pending_until, reason_code=body.reason_code,
                comment=body.comment, actor=principal.actor, idempotency_key=key,
            )
        )

    return _write(request, idempotency_key, f"accrue:{member_id}", body, work)


@router.post("/members/{member_id}/spendings", auth=scoped("ledger:write"), response={201: EntryOut, **ERRORS})
def post_spending(request, member_id: int, body: SpendIn, idempotency_key: str | None = IdempotencyKey):
    def work(principal, key):
        return _entry_response(
            services.spend(
                member_id=member_id, points=body.points, source=services.Source(body.source_kind, body.source_ref),
                reason_code=body.reason_code, comment=body.comment, redemption_order=body.redemption_order,
                actor=principal.actor, idempotency_key=key,
            )
        )

    return _write(request, idempotency_key, f"spend:{member_id}", body, work)


@router.post("/members/{member_id}/adjustments", auth=scoped("ledger:write"), response={201: EntryOut, **ERRORS})
def post_adjustment(request, member_id: int, body: AdjustIn, idempotency_key: str | None = IdempotencyKey):
    def work(principal, key):
        return _entry_response(
            services.adjust(
                member_id=member_id, points=body.points, reason_code=body.reason_code, comment=body.comment,
                category=body.category, expires_at=body.expires_at, lifetime_days=body.lifetime_days,
                actor=principal.actor, idempotency_key=key,
            )
        )

    return _write(request, idempotency_key, f"adjust:{member_id}", body, work)


@router.post("/members/{member_id}/holds", auth=scoped("ledger:write"), response={201: HoldOut, **ERRORS})
def post_hold(request, member_id: int, body: HoldIn, idempotency_key: str | None = IdempotencyKey):
    def work(principal, key):
        reserved = services.hold(
            member_id=member_id, points=body.points, source=services.Source(body.source_kind, body.source_ref),
            ttl_seconds=body.ttl_seconds, redemption_order=body.redemption_order, actor=principal.actor,
            idempotency_key=key,
        )
        return 201, HoldOut(**_hold_out(reserved))

    return _write(request, idempotency_key, f"hold:{member_id}", body, work)


@router.post("/holds/{hold_id}/capture", auth=scoped("ledger:write"), response={201: EntryOut, **ERRORS})
def post_capture(request, hold_id: int, body: CaptureIn, idempotency_key: str | None = IdempotencyKey):
    def work(principal, key):
        return _entry_response(
            services.capture(
                hold_id=hold_id, points=body.points, comment=body.comment, actor=principal.actor, idempotency_key=key
            )
        )

    return _write(request, idempotency_key, f"capture:{hold_id}", body, work)


@router.post("/holds/{hold_id}/release", auth=scoped("ledger:write"), response={200: HoldOut, **ERRORS})
def post_release(request, hold_id: int, idempotency_key: str | None = IdempotencyKey):
    def work(principal, key):
        return 200, HoldOut(**_hold_out(services.release(hold_id=hold_id, actor=principal.actor)))

    return _write(request, idempotency_key, f"release:{hold_id}", {}, work)


@router.post("/entries/{entry_id}/reversal", auth=scoped("ledger:write"), response={201: EntryOut, **ERRORS})
def post_reversal(request, entry_id: int, body: ReverseIn, idempotency_key: str | None = IdempotencyKey):
    def work(principal, key):
        return _entry_response(
            services.reverse_accrual(
                entry_id=entry_id, points=body.points, reason_code=body.reason_code, comment=body.comment,
                policy=body.policy, actor=principal.actor, idempotency_key=key,
            )
        )

    return _write(request, idempotency_key, f"reverse:{entry_id}", body, work)


@router.post("/entries/{entry_id}/return", auth=scoped("ledger:write"), response={201: EntryOut, **ERRORS})
def post_return(request, entry_id: int, body: RestoreIn, idempotency_key: str | None = IdempotencyKey):
    def work(principal, key):
        return _entry_response(
            services.restore_spend(
                entry_id=entry_id, points=body.points, reason_code=body.reason_code, comment=body.comment,
                actor=principal.actor, idempotency_key=key,
            )
        )

    return _write(request, idempotency_key, f"return:{entry_id}", body, work)
