"""Tiers at work: what a member qualifies for, upgrades at once, downgrades at reviews, floors, subscriptions,
and what is needed for the next tier.

The measure of a tier is over its rolling window up to now: turnover is what the member paid (after points) for
purchases that count, less what was returned; points are what campaigns and adjustments accrued, less reversals.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.utils.translation import gettext_lazy as _

from kopilka.core import clock, outbox, sql
from kopilka.core.errors import ValidationFailed, check_code
from kopilka.customers.errors import member_not_found
from kopilka.customers.models import Member
from kopilka.ledger.selectors import points_earned
from kopilka.orders.selectors import turnover
from kopilka.tiers.models import MemberTier, Tier, TierChange

REVIEW_PERIODS = ("month", "quarter", "year")


def measures(member_id: int, tiers: list[Tier], now: datetime) -> dict[int, Decimal]:
    """Each tier's measure for the member (by tier id): turnover in roubles or points over the tier's window — one
    read per basis, whatever the number of tiers and windows."""
    windows = {basis: sorted({t.window_days for t in tiers if t.basis == basis})
               for basis in (Tier.Basis.TURNOVER, Tier.Basis.POINTS)}
    paid = turnover(member_id, now, windows[Tier.Basis.TURNOVER])
    earned = points_earned(member_id, now, windows[Tier.Basis.POINTS])
    return {
        tier.pk: paid[tier.window_days] if tier.basis == Tier.Basis.TURNOVER else Decimal(earned[tier.window_days])
        for tier in tiers if tier.basis != Tier.Basis.SUBSCRIPTION
    }


def measure(member_id: int, tier: Tier, now: datetime) -> Decimal:
    """The member's turnover (roubles) or points over the tier's window."""
    return measures(member_id, [tier], now)[tier.pk]


def qualifying_tier(member_id: int, now: datetime, state: MemberTier | None = None, *,
                    above: Tier | None = None) -> Tier | None:
    """The best tier the member qualifies for now: by measure, or by a live subscription. With `above`, only tiers
    ranked above it are measured (an upgrade check: None when none of them is reached)."""
    candidates = Tier.objects.exclude(basis=Tier.Basis.SUBSCRIPTION).order_by("-rank")
    if above is not None:
        candidates = candidates.filter(rank__gt=above.rank)
    return _qualifying(member_id, list(candidates), now, state)


def _qualifying(member_id: int, candidates: list[Tier], now: datetime, state: MemberTier | None) -> Tier | None:
    """The best of the candidates (by rank, best first) the member reaches, or their live subscription's tier."""
    reached = measures(member_id, candidates, now) if candidates else {}
    best = next((tier for tier in candidates if reached[tier.pk] >= tier.threshold), None)
    if state and state.subscription_tier and state.subscription_until and state.subscription_until > now:
        if best is None or state.subscription_tier.rank > best.rank:
            best = state.subscription_tier
    return best


def _better(a: Tier | None, b: Tier | None) -> Tier | None:
    if a is None:
        return b
    if b is None:
        return a
    return a if a.rank >= b.rank else b


def recompute(member_id: int, *, actor: str, review: bool = False, now: datetime | None = None) -> MemberTier:
    """Upgrades the member when they qualify for more; at a review, also downgrades to what they qualify for.
    Never below the floor."""
    now = now or clock.now()
    with transaction.atomic():
        state = _state(member_id)
        # Between reviews a member only rises: only the tiers above the current one need measuring.
        reached = qualifying_tier(member_id, now, state, above=None if review else state.tier)
        target = _better(reached, state.floor)
        new = target if review else _better(state.tier, target)
        if new != state.tier:
            reason = _("review at the end of the period") if review else _("qualified")
            _change(state, new, str(reason), actor, now)
    return state


_STATE = f"""
SELECT s.id, s.tier_id, s.floor_id, s.subscription_tier_id, s.subscription_until, s.since,
       t.id, t.code, t.name, t.rank, t.basis, t.threshold, t.window_days
FROM {MemberTier._meta.db_table} s LEFT JOIN {Tier._meta.db_table} t ON 1 = 1
WHERE s.member_id = %s
"""
_STATE_FIELDS = ["id", "member_id", "tier_id", "floor_id", "subscription_tier_id", "subscription_until", "since"]
_TIER_FIELDS = ["id", "code", "name", "rank", "basis", "threshold", "window_days"]


def rise(member_id: int, *, actor: str, now: datetime | None = None) -> MemberTier:
    """`recompute` between reviews (the member only rises), inside the caller's transaction: the member's tier row
    is locked and read with every tier by one statement, then one read measures the tiers above theirs."""
    now = now or clock.now()
    lock = " FOR UPDATE OF s" if connection.vendor == "postgresql" else ""
    found = sql.rows(_STATE + lock, [member_id])
    if not found:  # no tier row yet: recompute makes it
        return recompute(member_id, actor=actor, now=now)
    pk, tier_id, floor_id, subscription_id, subscription_until, since = found[0][:6]
    tiers = {
        row[6]: Tier.from_db(connection.alias, _TIER_FIELDS, [*row[6:11], sql.money(row[11]), row[12]])
        for row in found if row[6] is not None
    }
    state = MemberTier.from_db(connection.alias, _STATE_FIELDS, [
        pk, member_id, tier_id, floor_id, subscription_id, sql.moment(subscription_until), sql.moment(since),
    ])
    state.tier, state.floor, state.subscription_tier = (tiers.get(tier_id), tiers.get(floor_id),
                                                         tiers.get(subscription_id))
    candidates = sorted(
        (tier for tier in tiers.values() if tier.basis != Tier.Basis.SUBSCRIPTION
         and (state.tier is None or tier.rank > state.tier.rank)),
        key=lambda tier: -tier.rank,
    )
    new = _better(state.tier, _better(_qualifying(member_id, candidates, now, state), state.floor))
    if new != state.tier:
        _change(state, new, str(_("qualified")), actor, now)
    return state


def upsert_tier(*, code: str, **fields) -> tuple[Tier, bool]:
    """Creates or changes a tier of the reference book; ranks are unique."""
    check_code(code)
    with transaction.atomic():
        if Tier.objects.filter(rank=fields.get("rank")).exclude(code=code).exists():
            raise ValidationFailed(_("Another tier has this rank."), code="tier_rank_taken",
                                   details={"rank": fields.get("rank")})
        return Tier.objects.update_or_create(code=code, defaults=fields)


def set_floor(member_id: int, tier_code: str | None, *, actor: str, reason: str) -> MemberTier:
    """The tier the member never falls below (None removes it); the member rises to it at once."""
    if not reason.strip():
        raise ValidationFailed(_("Say why the floor is set."), code="reason_required")
    with transaction.atomic():
        state = _state(member_id)
        state.floor = _tier(tier_code) if tier_code else None
        state.save(update_fields=["floor"])
        if state.floor and (state.tier is None or state.tier.rank < state.floor.rank):
            _change(state, state.floor, reason, actor, clock.now())
    return state


def subscribe(member_id: int, tier_code: str, *, months: int, actor: str) -> MemberTier:
    """A paid subscription to a tier for `months` (extending a live one of the same tier)."""
    tier = _tier(tier_code)
    if tier.basis != Tier.Basis.SUBSCRIPTION:
        raise ValidationFailed(_("This tier is not sold as a subscription."), code="not_a_subscription_tier")
    if not 0 < months <= 36:
        raise ValidationFailed(_("A subscription lasts 1 to 36 months."), code="invalid_term")
    now = clock.now()
    with transaction.atomic():
        state = _state(member_id)
        live = state.subscription_tier == tier and state.subscription_until and state.subscription_until > now
        state.subscription_tier = tier
        state.subscription_until = clock.add_months(state.subscription_until if live else now, months)
        state.save(update_fields=["subscription_tier", "subscription_until"])
        if state.tier is None or state.tier.rank < tier.rank:
            _change(state, tier, str(_("paid subscription")), actor, now)
    return state


def is_review_day(now: datetime) -> bool:
    """Whether today (programme time zone) begins a review period of the programme's policy."""
    day = clock.local_date(now)
    period = settings.KOPILKA["TIER_REVIEW"]
    if day.day != 1:
        return False
    return period == "month" or (period == "quarter" and day.month in (1, 4, 7, 10)) or day.month == 1


def review_all(now: datetime | None = None, actor: str = "system:tiers") -> int:
    """On a review day, moves every member with a tier to what they qualify for; returns how many changed."""
    now = now or clock.now()
    if not is_review_day(now):
        return 0
    changed = 0
    for member_id, before in MemberTier.objects.exclude(tier=None).values_list("member_id", "tier_id"):
        changed += recompute(member_id, actor=actor, review=True, now=now).tier_id != before
    return changed


@dataclass(frozen=True)
class Progress:
    tier: Tier | None
    next_tier: Tier | None
    measure: Decimal | None  # of the next tier's basis
    needed: Decimal | None  # how much more of it reaches the next tier


def progress(member_id: int, now: datetime | None = None) -> Progress:
    """The member's tier and what is needed for the next one reached by turnover or points."""
    now = now or clock.now()
    state = MemberTier.objects.filter(member_id=member_id).select_related("tier").first()
    if state is None and not Member.objects.filter(pk=member_id).exists():
        raise member_not_found(member_id)
    current = state.tier if state else None
    above = Tier.objects.exclude(basis=Tier.Basis.SUBSCRIPTION).order_by("rank")
    if current is not None:
        above = above.filter(rank__gt=current.rank)
    next_tier = above.first()
    if next_tier is None:
        return Progress(current, None, None, None)
    value = measure(member_id, next_tier, now)
    return Progress(current, next_tier, value, max(next_tier.threshold - value, Decimal(0)))


def _state(member_id: int) -> MemberTier:
    """The member's tier row, locked (made on first use), with its tiers."""
    locked = MemberTier.objects.select_for_update(of=("self",)).select_related("tier", "floor", "subscription_tier")
    state = locked.filter(member_id=member_id).first()
    if state is not None:
        return state
    if not Member.objects.filter(pk=member_id).exists():
        raise member_not_found(member_id)
    return MemberTier.objects.select_for_update().get_or_create(member_id=member_id)[0]


def _tier(code: str) -> Tier:
    tier = Tier.objects.filter(code=code).first()
    if tier is None:
        raise ValidationFailed(_("No such tier."), code="tier_not_found", details={"tier": code})
    return tier


def _change(state: MemberTier, tier: Tier | None, reason: str, actor: str, now: datetime) -> None:
    TierChange.objects.create(member_id=state.member_id, from_tier=state.tier.code if state.tier else "",
                              to_tier=tier.code if tier else "", reason=reason, actor=actor, changed_at=now)
    outbox.record("tier.changed", f"member:{state.member_id}", {
        "member_id": state.member_id, "from_tier": state.tier.code if state.tier else None,
        "to_tier": tier.code if tier else None, "reason": reason, "changed_at": now,
    })
    state.tier, state.since = tier, now
    state.save(update_fields=["tier", "since"])
