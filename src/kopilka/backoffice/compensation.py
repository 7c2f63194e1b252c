"""Compensation points granted by support staff, within limits per role (SPEC §6).

A grant within the requester's limits (per operation and per programme-time day, the highest of their roles') is
booked at once; a larger one waits for someone with `approve_compensation` whose role approves that much (a
senior agent up to a bound, the head of support any size), who is never the requester. Every
request, grant and decision is in the audit log; the ledger entry carries the reason code and the comment.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Sum
from django.utils import translation
from django.utils.translation import gettext as _

from kopilka.backoffice.models import CompensationLimit, CompensationRequest
from kopilka.communications.services import notify
from kopilka.core import audit, clock
from kopilka.core.errors import NotFound, PermissionDenied, ValidationFailed
from kopilka.ledger import services as ledger
from kopilka.ledger.models import ReasonCode

CATEGORY = "compensation"


def limits_of(user) -> tuple[int, int]:
    """(points per operation, points per day) the user may grant alone: the largest over their roles."""
    rows = CompensationLimit.objects.filter(role__in=user.groups.all()).values_list("per_operation", "per_day")
    return (max((r[0] for r in rows), default=0), max((r[1] for r in rows), default=0))


def may_approve(user, points: int) -> bool:
    """Whether the user may approve a request of `points`: some role of theirs approves that much (superusers
    approve anything)."""
    if user.is_superuser:
        return True
    bounds = CompensationLimit.objects.filter(role__in=user.groups.all()).values_list("approve_up_to", flat=True)
    return any(bound is None or points <= bound for bound in bounds)


def granted_today(user, now: datetime | None = None) -> int:
    """Points the user granted alone since the start of the programme's day."""
    day = clock.local_date(now or clock.now())
    return CompensationRequest.objects.filter(
        requested_by=user, status=CompensationRequest.Status.GRANTED,
        requested_at__gte=clock.start_of_day(day), requested_at__lt=clock.start_of_day(day + timedelta(days=1)),
    ).aggregate(total=Sum("points"))["total"] or 0


def request(user, *, key: str, member_id: int, points: int, reason_code: str, comment: str) -> CompensationRequest:
    """Grant at once when within the user's limits, else leave it waiting for approval. A request already made
    with `key` is returned as it is."""
    if not user.has_perm("backoffice.grant_compensation"):
        raise PermissionDenied(_("You may not grant compensation."))
    if points <= 0:
        raise ValidationFailed(_("Points must be a positive whole number."), code="invalid_points")
    if not comment.strip():
        raise ValidationFailed(_("Say why: a comment is required."), code="comment_required")
    if not ReasonCode.objects.filter(code=reason_code).exists():
        raise ValidationFailed(_("Unknown reason code."), code="unknown_reason_code")
    now = clock.now()
    per_operation, per_day = limits_of(user)
    with transaction.atomic():
        # One at a time per person: two grants at once must not both fit the same day's remainder.
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        if (done := CompensationRequest.objects.filter(key=key).first()) is not None:
            return done
        within = points <= per_operation and granted_today(user, now) + points <= per_day
        made = CompensationRequest.objects.create(
            key=key, member_id=member_id, points=points, reason_code=reason_code, comment=comment.strip(),
            status=CompensationRequest.Status.GRANTED if within else CompensationRequest.Status.PENDING,
            requested_by=user, requested_at=now,
        )
        if within:
            made.entry = _book(made, user)
            made.save(update_fields=["entry"])
            audit.record(user, "compensation.granted", _("Granted %(points)d compensation points") % {
                "points": points}, member_id=member_id, target=f"ledger.entry:{made.entry_id}", comment=made.comment,
                details={"request": made.pk, "reason_code": reason_code})
        else:
            audit.record(user, "compensation.requested", _(
                "Asked approval for %(points)d compensation points (above the limit)") % {"points": points},
                member_id=member_id, target=f"backoffice.compensationrequest:{made.pk}", comment=made.comment,
                details={"request": made.pk, "reason_code": reason_code, "per_operation": per_operation,
                         "per_day": per_day})
    return made


def decide(user, request_id: int, *, approve: bool, comment: str) -> CompensationRequest:
    """Approve (book the points) or reject a waiting request; the requester cannot decide their own."""
    if not user.has_perm("backoffice.approve_compensation"):
        raise PermissionDenied(_("You may not approve compensation."))
    with transaction.atomic():
        waiting = CompensationRequest.objects.select_for_update().filter(pk=request_id).first()
        if waiting is None:
            raise NotFound(_("No such compensation request."), code="request_not_found")
        if waiting.status != CompensationRequest.Status.PENDING:
            raise ValidationFailed(_("This request has been decided already."), code="already_decided")
        if waiting.requested_by_id == user.pk:
            raise PermissionDenied(_("A request is decided by someone other than its author."))
        if approve and not may_approve(user, waiting.points):
            raise PermissionDenied(_("%(points)d points are above what you may approve: a head of support "
                                     "approves it.") % {"points": waiting.points}, code="above_approval_limit")
        if not approve and not comment.strip():
            raise ValidationFailed(_("Say why the request is rejected."), code="comment_required")
        waiting.status = CompensationRequest.Status.APPROVED if approve else CompensationRequest.Status.REJECTED
        waiting.decided_by, waiting.decided_at, waiting.decision_comment = user, clock.now(), comment.strip()
        if approve:
            waiting.entry = _book(waiting, user)
        waiting.save()
        summary = _("Approved %(points)d compensation points") if approve else _(
            "Rejected %(points)d compensation points")
        audit.record(user, "compensation.approved" if approve else "compensation.rejected",
                     summary % {"points": waiting.points}, member_id=waiting.member_id,
                     target=f"backoffice.compensationrequest:{waiting.pk}", comment=waiting.decision_comment,
                     details={"request": waiting.pk, "entry": waiting.entry_id})
    return waiting


def _book(made: CompensationRequest, user):
    """The ledger accrual of a request, keyed by it (booking the same request twice books it once), and the
    member's notice of it."""
    comment = made.comment
    if made.decided_by_id:
        comment = f"{comment} — " + _("approved by %(user)s") % {"user": user.get_username()}
    entry = ledger.accrue(
        member_id=made.member_id, points=made.points, actor=audit.actor_of(made.requested_by),
        idempotency_key=f"compensation:{made.pk}", category=CATEGORY, reason_code=made.reason_code,
        comment=comment, source=ledger.Source("compensation", str(made.pk)),
    )
    with translation.override(settings.LANGUAGE_CODE):  # members read the programme's language
        notify(made.member_id, kind="compensation", source=f"compensation:{made.pk}",
               subject=_("%(points)d bonus points for you") % {"points": made.points},
               body=_("We have added %(points)d compensation points to your account: %(reason)s.\n"
                      "Your balance: %(balance)d points.") % {
                   "points": made.points, "reason": made.comment, "balance": entry.balance_after})
    return entry
