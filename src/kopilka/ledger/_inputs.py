"""What a ledger write is asked, checked before anything is locked: points, keys, categories, reason codes,
dates, the redemption order, and the write's context (who, when, why, from what source).

Every check raises a ledger or validation error in the user's language and writes nothing. Times in a context
are UTC, as the database returns them, so rows built in Python compare equal to rows read back.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from kopilka.core import clock, programme
from kopilka.core.errors import ValidationFailed
from kopilka.ledger import booking, reference
from kopilka.ledger.errors import InvalidDates, InvalidPoints, UnknownCategory, UnknownReasonCode
from kopilka.ledger.models import ReasonCode

MAX_LIFETIME_DAYS = 36_500


@dataclass(frozen=True)
class Source:
    """What caused a change, in the caller's words: ("campaign", "12:v3"), ("order", "A-1001"), ("manual", "")."""

    kind: str = "manual"
    ref: str = ""


MANUAL = Source()  # the default source of a write: a person's, with no reference


def programme_value(name: str):
    """A setting in force: as saved on the programme settings screen when it is one of those, else the environment's."""
    return programme.value(name) if name in programme.FIELDS else settings.KOPILKA[name]


def check_points(points, *, allow_negative: bool = False) -> int:
    limit = programme_value("MAX_POINTS_PER_OPERATION")
    if isinstance(points, bool) or not isinstance(points, int):
        raise InvalidPoints(_("Points must be a whole number."), details={"points": str(points)})
    if points == 0 or (points < 0 and not allow_negative):
        raise InvalidPoints(
            _("Points must be greater than zero.") if not allow_negative else _("Points must not be zero."),
            details={"points": points},
        )
    if abs(points) > limit:
        raise InvalidPoints(
            _("At most %(limit)d points can be moved in one operation.") % {"limit": limit},
            details={"points": points, "limit": limit},
        )
    return points


def check_key(key: str) -> str:
    if not isinstance(key, str) or not key.strip():
        raise ValidationFailed(_("An idempotency key is required."), code="idempotency_key_required")
    if len(key) > 250:
        raise ValidationFailed(_("The idempotency key is too long."), code="idempotency_key_invalid")
    return key


def check_category(code: str) -> reference.Category:
    category = reference.category(code)
    if category is None or code == reference.DEBT:
        raise UnknownCategory(details={"category": code, "known": reference.codes()})
    return category


def check_reason(code: str, *, required: bool) -> str:
    if not code:
        if required:
            raise UnknownReasonCode(_("A reason code is required."), details={"reason_code": code})
        return ""
    if not ReasonCode.objects.filter(code=code, is_active=True).exists():
        known = list(ReasonCode.objects.filter(is_active=True).values_list("code", flat=True))
        raise UnknownReasonCode(details={"reason_code": code, "known": known})
    return code


def expiry_time(at: datetime, expires_at: datetime | None, lifetime_days: int | None) -> datetime:
    """Explicit expiry, or the end of the day `lifetime_days` after `at` (programme default when neither is given)."""
    if expires_at is not None and lifetime_days is not None:
        raise InvalidDates(_("Give either an expiry time or a lifetime, not both."))
    if expires_at is not None:
        expires_at = clock.make_aware(expires_at)
        if expires_at <= at:
            raise InvalidDates(
                _("The expiry time must be later than the accrual time."),
                details={"expires_at": expires_at.isoformat(), "accrued_at": at.isoformat()},
            )
        return expires_at
    days = programme_value("DEFAULT_LOT_LIFETIME_DAYS") if lifetime_days is None else lifetime_days
    if isinstance(days, bool) or not isinstance(days, int) or not 0 < days <= MAX_LIFETIME_DAYS:
        raise InvalidDates(
            _("The lifetime must be between 1 and %(max)d days.") % {"max": MAX_LIFETIME_DAYS},
            details={"lifetime_days": days},
        )
    return clock.end_of_day(clock.local_date(at) + timedelta(days=days))


def activation_time(at: datetime, pending_until: datetime | None, expires_at: datetime) -> datetime:
    if pending_until is None:
        return at
    pending_until = clock.make_aware(pending_until)
    if pending_until >= expires_at:
        raise InvalidDates(
            _("Points cannot become spendable after they expire."),
            details={"pending_until": pending_until.isoformat(), "expires_at": expires_at.isoformat()},
        )
    return max(pending_until, at)


def check_redemption_order(policy: str | None) -> str:
    return _choice(policy or programme_value("REDEMPTION_ORDER"), booking.REDEMPTION_ORDERS,
                   _("Unknown redemption order."), "unknown_redemption_order", "redemption_order")


def check_return_policy(policy: str | None) -> str:
    return _choice(policy or programme_value("RETURN_POLICY"), booking.RETURN_POLICIES,
                   _("Unknown return policy."), "unknown_return_policy", "policy")


def _choice(value: str, known, message, code: str, field: str) -> str:
    """`value` when it is one of `known`, else the refusal `code` naming the known ones."""
    if value not in known:
        raise ValidationFailed(message, code=code, details={field: value, "known": list(known)})
    return value


@dataclass(frozen=True)
class Context:
    actor: str
    at: datetime
    now: datetime
    source: Source
    reason_code: str = ""
    comment: str = ""


def context(actor: str, at: datetime | None, source: Source, reason_code: str = "", comment: str = "") -> Context:
    if not actor:
        raise ValidationFailed(_("Every change must name who made it."), code="actor_required")
    now = clock.now().astimezone(UTC)  # instances built in Python carry times as the database returns them
    return Context(
        actor=actor,
        at=clock.make_aware(at).astimezone(UTC) if at else now,
        now=now,
        source=source,
        reason_code=reason_code,
        comment=comment or "",
    )


@dataclass(frozen=True)
class CheckedAccrual:
    """An accrual checked before anything is locked, as it will be booked: its context, lot times and key."""

    points: int
    key: str
    fingerprint: str
    ctx: Context
    category: reference.Category
    activates_at: datetime
    expires_at: datetime
    details: dict | None = None  # kept in the accrual entry's `details`
